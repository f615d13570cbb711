package memplan.graph;

import memplan.ir.AuxSpec;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import memplan.ir.ShapeException;
import memplan.ops.Input;
import memplan.ops.Op;
import memplan.ops.SourceOp;
import org.jgrapht.alg.cycle.CycleDetector;
import org.jgrapht.graph.DefaultDirectedGraph;
import org.jgrapht.graph.DefaultEdge;
import org.jgrapht.traverse.TopologicalOrderIterator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A network definition instantiated at a batch size and floating type: nodes in a topological order (file order
 * where the dependencies allow) and every value with a concrete shape. Immutable.
 */
public final class Graph {
    private final ModelDef model;
    private final int batch;
    private final DType floatType;
    private final Map<String, Integer> symbols;
    private final List<Node> nodes;
    private final List<Value> values;

    private Graph(ModelDef model, int batch, DType floatType, Map<String, Integer> symbols,
            List<Node> nodes, List<Value> values) {
        this.model = model;
        this.batch = batch;
        this.floatType = floatType;
        this.symbols = symbols;
        this.nodes = nodes;
        this.values = values;
    }

    public ModelDef model() { return model; }
    public int batch() { return batch; }
    public DType floatType() { return floatType; }
    public Map<String, Integer> symbols() { return symbols; }
    public List<Node> nodes() { return nodes; }
    public List<Value> values() { return values; }
    public Value value(int id) { return values.get(id); }

    public Node node(String name) {
        for (Node n : nodes) if (n.name().equals(name)) return n;
        return null;
    }

    /** The value whose memory a view ultimately shares (itself if it is not a view). */
    public int storageOf(int valueId) {
        int v = valueId;
        while (values.get(v).viewOf() >= 0) v = values.get(v).viewOf();
        return v;
    }

    /** Number of trainable parameters (tied parameters counted once). */
    public long parameterCount() {
        long n = 0;
        for (Value v : values) if (v.kind() == ValueKind.PARAM) n = Math.addExact(n, v.shape().numel());
        return n; // exact: instantiate bounds the sum of all tensors
    }

    /**
     * The most bytes all forward tensors may add up to (at 8 bytes per element): 256 PiB. Training adds gradients,
     * optimizer state and workspaces, a few times this at most, so every byte count downstream is an exact long.
     */
    public static final long MAX_TOTAL_BYTES = 1L << 58;

    public static Graph instantiate(ModelDef model, int batch, DType floatType) {
        return instantiate(model, batch, floatType, Map.of());
    }

    /**
     * Resolves the model at a batch size. {@code dimOverrides} sets dimension symbols (e.g. "T" = 128) over the
     * model's defaults. Throws {@link GraphException} naming the layer and the reason.
     */
    public static Graph instantiate(ModelDef model, int batch, DType floatType, Map<String, Integer> dimOverrides) {
        if (batch <= 0) throw new IllegalArgumentException("batch must be positive, got " + batch);
        if (!floatType.floating) throw new IllegalArgumentException("the model's dtype must be a floating type, got "
                + floatType);
        String src = model.source() == null ? model.name() : model.source();
        Map<String, Integer> symbols = new LinkedHashMap<>(model.dims());
        symbols.putAll(dimOverrides);
        symbols.put(ModelDef.BATCH, batch);

        List<Layer> layers = model.layers();
        if (layers.isEmpty()) throw new GraphException(src, "layers", "the model has no layers");
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            String name = layers.get(i).name();
            if (name == null || name.isBlank()) throw new GraphException(src, loc(layers, i), "layer has no name");
            if (index.putIfAbsent(name, i) != null)
                throw new GraphException(src, loc(layers, i), "duplicate layer name '" + name
                        + "' (first used at layers[" + index.get(name) + "])");
        }

        // Dependency graph over layer indices: JGraphT finds cycles and a topological order.
        DefaultDirectedGraph<Integer, DefaultEdge> deps = new DefaultDirectedGraph<>(DefaultEdge.class);
        for (int i = 0; i < layers.size(); i++) deps.addVertex(i);
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            Op op = l.op();
            if (op.arity() >= 0 && l.inputs().size() != op.arity())
                throw new GraphException(src, loc(layers, i) + ".inputs", op.type() + " takes " + op.arity()
                        + " input" + (op.arity() == 1 ? "" : "s") + ", got " + l.inputs().size());
            if (op.arity() < 0 && l.inputs().isEmpty())
                throw new GraphException(src, loc(layers, i) + ".inputs", op.type() + " needs at least one input");
            for (int k = 0; k < l.inputs().size(); k++) {
                Ref r = Ref.parse(l.inputs().get(k), index.keySet());
                Integer from = index.get(r.layer);
                if (from == null)
                    throw new GraphException(src, loc(layers, i) + ".inputs[" + k + "]",
                            "dangling input '" + l.inputs().get(k)
                            + "': no layer of that name");
                if (r.output >= layers.get(from).op().outputCount())
                    throw new GraphException(src, loc(layers, i) + ".inputs[" + k + "]", "'" + r.layer + "' has only "
                            + layers.get(from).op().outputCount() + " output(s), asked for output " + r.output);
                if (from == i) throw new GraphException(src, loc(layers, i) + ".inputs[" + k + "]",
                        "layer '" + l.name() + "' reads its own output (cycle)");
                deps.addEdge(from, i);
            }
            for (var t : l.tie().entrySet()) {
                String target = t.getValue();
                int dot = target.lastIndexOf('.');
                if (dot <= 0 || !index.containsKey(target.substring(0, dot)))
                    throw new GraphException(src, loc(layers, i) + ".tie." + t.getKey(), "tied parameter '" + target
                            + "' must be written 'layer.param' and name an existing layer");
                int from = index.get(target.substring(0, dot));
                if (from != i) deps.addEdge(from, i);
            }
        }
        CycleDetector<Integer, DefaultEdge> cycles = new CycleDetector<>(deps);
        if (cycles.detectCycles()) {
            Set<Integer> in = new TreeSet<>(cycles.findCycles());
            List<String> names = new ArrayList<>();
            for (int i : in) names.add(layers.get(i).name());
            throw new GraphException(src, loc(layers, in.iterator().next()), "the layers " + names + " form a cycle");
        }
        List<Integer> order = new ArrayList<>();
        new TopologicalOrderIterator<>(deps, Comparator.<Integer>naturalOrder()).forEachRemaining(order::add);

        List<Value> values = new ArrayList<>();
        List<Node> nodes = new ArrayList<>();
        Map<String, int[]> outputsOf = new HashMap<>();
        Map<String, Integer> paramIds = new HashMap<>();
        long totalBytes = 0;
        for (int li : order) {
            Layer l = layers.get(li);
            Op op = l.op();
            String where = loc(layers, li);
            int nodeIndex = nodes.size();
            int firstNew = values.size();
            int[] inIds = new int[l.inputs().size()];
            List<Shape> inShapes = new ArrayList<>();
            for (int k = 0; k < inIds.length; k++) {
                Ref r = Ref.parse(l.inputs().get(k), index.keySet());
                inIds[k] = outputsOf.get(r.layer)[r.output];
                inShapes.add(values.get(inIds[k]).shape());
                Value in = values.get(inIds[k]);
                if (op.integerInput(k) && in.dtype().floating)
                    throw new GraphException(src, where + ".inputs[" + k + "]", op.type() + ": input " + k
                            + " must be an integer tensor (int64 or int32), got " + in.dtype()
                                    .jsonName() + " from '" + in.name()
                            + "'; give its Input \"dtype\": \"int64\"");
            }
            List<Shape> outShapes;
            List<ParamSpec> params;
            List<AuxSpec> aux;
            try {
                if (op instanceof SourceOp source) outShapes = List.of(source.resolve(symbols));
                else outShapes = op.inferShapes(inShapes);
                params = op.params(inShapes);
                aux = op.aux(inShapes, outShapes);
            } catch (ShapeException e) {
                throw new GraphException(src, where, "inputs " + inShapes + ": " + e.getMessage());
            }
            int[] paramIdx = new int[params.size()];
            for (int p = 0; p < params.size(); p++) {
                ParamSpec ps = params.get(p);
                String key = l.name() + "." + ps.name();
                String tied = l.tie().get(ps.name());
                if (tied != null) {
                    Integer id = paramIds.get(tied);
                    if (id == null) throw new GraphException(src, where + ".tie." + ps.name(),
                            "no parameter '" + tied + "'");
                    if (!values.get(id).shape().equals(ps.shape()))
                        throw new GraphException(src, where + ".tie." + ps.name(),
                                "tied parameter '" + tied + "' has shape "
                                + values.get(id).shape() + " but " + key + " needs " + ps.shape());
                    paramIdx[p] = id;
                } else {
                    int id = values.size();
                    values.add(new Value(id, key, ps.shape(), floatType, ps.trainable() ? ValueKind.PARAM
                            : ValueKind.BUFFER, -1, -1));
                    paramIdx[p] = id;
                }
                paramIds.put(key, paramIdx[p]);
            }
            for (String tiedName : l.tie().keySet())
                if (params.stream().noneMatch(ps -> ps.name().equals(tiedName)))
                    throw new GraphException(src, where + ".tie." + tiedName,
                            op.type() + " has no parameter '" + tiedName + "'");
            int[] outIds = new int[outShapes.size()];
            for (int k = 0; k < outIds.length; k++) {
                int id = values.size();
                DType dt = op.outputDType(k) != null ? op.outputDType(k) : floatType;
                String name = outIds.length == 1 ? l.name() : l.name() + ":" + k;
                ValueKind kind = op instanceof Input ? ValueKind.DATA : ValueKind.ACTIVATION;
                int viewOf = op.isView() ? inIds[0] : -1;
                if (op instanceof Input) {
                    values.add(new Value(id, name, outShapes.get(k), dt, kind, -1, -1));
                } else {
                    if (op.isView()) dt = values.get(inIds[0]).dtype();
                    values.add(new Value(id, name, outShapes.get(k), dt, kind, nodeIndex, viewOf));
                }
                outIds[k] = id;
            }
            int[] auxIds = new int[aux.size()];
            for (int k = 0; k < auxIds.length; k++) {
                AuxSpec a = aux.get(k);
                int id = values.size();
                values.add(new Value(id, l.name() + "." + a.name(), a.shape(),
                        a.dtype() == null ? floatType : a.dtype(),
                        ValueKind.AUX, nodeIndex, -1));
                auxIds[k] = id;
            }
            for (int v = firstNew; v < values.size(); v++) {
                totalBytes += values.get(v).shape().numel() * 8; // each below 2^59, the total below 2^58: no overflow
                if (totalBytes > MAX_TOTAL_BYTES)
                    throw new GraphException(src, where, "at batch " + batch
                            + " the model's tensors add up to more than 256 PiB (tensor '" + values.get(v).name()
                            + "' of shape " + values.get(v).shape()
                            + "): too large to model");
            }
            outputsOf.put(l.name(), outIds);
            nodes.add(new Node(nodeIndex, l, inIds, outIds, paramIdx, auxIds, List.copyOf(inShapes),
                    List.copyOf(outShapes)));
        }
        return new Graph(model, batch, floatType, Collections.unmodifiableMap(symbols),
                List.copyOf(nodes), List.copyOf(values));
    }

    private static String loc(List<Layer> layers, int i) {
        return "layers[" + i + "] (" + layers.get(i).name() + ")";
    }

    /** "name" or "name:k"; a layer whose name contains ':' ("a:1") is found by its full name first. */
    record Ref(String layer, int output) {
        static Ref parse(String s, Set<String> layerNames) {
            if (layerNames.contains(s)) return new Ref(s, 0);
            int c = s.lastIndexOf(':');
            if (c > 0 && c < s.length() - 1 && s.substring(c + 1).chars().allMatch(Character::isDigit))
                return new Ref(s.substring(0, c), Integer.parseInt(s.substring(c + 1)));
            return new Ref(s, 0);
        }
    }
}

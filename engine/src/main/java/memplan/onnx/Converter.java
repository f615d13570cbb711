package memplan.onnx;

import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import memplan.ir.ShapeException;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.onnx.proto.Onnx.GraphProto;
import memplan.onnx.proto.Onnx.NodeProto;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.onnx.proto.Onnx.TensorProto.DataType;
import memplan.ops.Concat;
import memplan.ops.Fill;
import memplan.ops.Input;
import memplan.ops.Op;
import memplan.ops.Opaque;
import memplan.ops.Pad;
import memplan.ops.Reshape;
import memplan.ops.Slice;
import memplan.ops.Split;
import memplan.ops.Transpose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Maps the nodes of an ONNX graph, in their (topological) file order, to MemPlan layers: shape computations go to
 * the {@link ConstantFolder}, exporters' decompositions of GELU and LayerNorm to {@link Fusions}, and every other
 * node to the {@link OpMapper} of its kind. Weights stay parameters of the op that uses them; see docs/onnx.md for
 * the operator table.
 */
final class Converter {
    /** The batch value of each evaluation lane (see {@link Val}). */
    static final int[] LANE_BATCH = {24, 36};
    static final int LANES = 2;
    /** Operators whose output shape depends on the data (a count of selected elements), not only on shapes. */
    private static final Set<String> DATA_DEPENDENT = Set.of("NonZero", "NonMaxSuppression", "Unique", "Compress");
    /** Operators whose output shape is given by the values of input k (a shape, a count, limits), by op type. */
    private static final Map<String, List<Integer>> SHAPE_INPUTS = Map.of("Reshape", List.of(1), "Expand",
            List.of(1), "Tile", List.of(1), "ConstantOfShape", List.of(0), "Range", List.of(0, 1, 2), "TopK",
            List.of(1), "OneHot", List.of(1));
    static final String VALUE_SIZED = "its output size depends on the tensor's values, not only on its shape";

    private final GraphProto graph;
    final int opset;
    final Path modelDir;
    private final OnnxOptions options;

    final Map<String, Val> vals = new HashMap<>();
    private final Map<String, List<NodeProto>> consumers = new HashMap<>();
    private final Map<String, NodeProto> producers = new HashMap<>();
    private final Set<String> graphOutputs = new HashSet<>();
    /** Nodes already converted as part of a pattern. */
    final Set<NodeProto> skip = Collections.newSetFromMap(new IdentityHashMap<>());
    final List<Layer> layers = new ArrayList<>();
    private final Set<String> layerNames = new HashSet<>();
    /** initializer name -> "layer.param" of its first use as a parameter (later uses are tied to it). */
    private final Map<String, String> paramOf = new HashMap<>();
    private final Map<String, Shape> paramShape = new HashMap<>();
    final Map<String, Integer> unsupported = new TreeMap<>();
    final Map<String, String> unsupportedExample = new TreeMap<>();
    /** Axis-0 size fixed in the file for a data input (an export with batch 1), or -1. */
    int fileBatch = -1;

    private final ConstantFolder folder = new ConstantFolder(this);
    private final Fusions fusions = new Fusions(this);
    /** ONNX op type -> its mapper and signature; the same for every conversion. */
    private final Map<String, Entry> mappers = new HashMap<>();

    private record Entry(OpMapper mapper, OpMapper.Signature signature) {
    }

    Converter(GraphProto graph, int opset, Path modelDir, OnnxOptions options) {
        this.graph = graph;
        this.opset = opset;
        this.modelDir = modelDir;
        this.options = options;
        for (NodeProto n : graph.getNodeList()) {
            for (String in : n.getInputList())
                if (!in.isEmpty()) consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            for (String o : n.getOutputList()) if (!o.isEmpty()) producers.putIfAbsent(o, n);
        }
        for (var o : graph.getOutputList()) graphOutputs.add(o.getName());
        List<OpMapper> all = List.of(new ElementwiseMapper(this), new GemmMapper(this), new NormMapper(this),
                new PoolMapper(this), new ReduceMapper(this), new ViewMapper(this), new MovementMapper(this),
                new ResizeMapper(), new SequenceMapper(this), new RecurrentMapper(this));
        for (OpMapper m : all)
            for (OpMapper.Signature s : m.handles())
                if (mappers.put(s.opType(), new Entry(m, s)) != null)
                    throw new IllegalStateException("two mappers for " + s.opType());
    }

    /**
     * Operators with a mapping (some uses of them may still be unsupported). Ops that are only folded (Range, Neg,
     * Equal, ...) are not: on a tensor that is not a constant they are unsupported.
     */
    private boolean supported(String opType) {
        return mappers.containsKey(opType) || Set.of("Constant", "Shape", "Size").contains(opType);
    }

    // ---------------------------------------------------------------- layers

    String uniqueName(String hint) {
        String base = hint == null || hint.isBlank() ? "node" : hint.replace(':', '_').trim();
        String name = base;
        for (int k = 2; layerNames.contains(name); k++) name = base + "_" + k;
        layerNames.add(name);
        return name;
    }

    record Weight(String param, Val.Const tensor) {
    }

    List<Val> emit(String hint, Op op, List<Val> ins, Weight... weights) {
        String name = uniqueName(hint);
        List<String> refs = new ArrayList<>();
        for (Val v : ins) refs.add(v.ref);
        List<List<Shape>> outs = new ArrayList<>();
        String[] failed = new String[LANES];
        for (int lane = 0; lane < LANES; lane++) {
            List<Shape> inShapes = new ArrayList<>();
            for (Val v : ins) inShapes.add(v.shape[lane]);
            try {
                outs.add(op instanceof Fill f ? List.of(f.resolve(Map.of(ModelDef.BATCH, LANE_BATCH[lane])))
                        : op.inferShapes(inShapes));
            } catch (ShapeException e) {
                failed[lane] = e.getMessage() == null ? "" : e.getMessage();
            }
        }
        if (failed[0] != null || failed[1] != null) throw new ShapeException(inWords(failed[0], failed[1]));
        Map<String, String> tie = new LinkedHashMap<>();
        List<Shape> in0 = new ArrayList<>();
        for (Val v : ins) in0.add(v.shape[0]);
        for (Weight w : weights) {
            if (w.tensor() == null) continue;
            ParamSpec spec = op.params(in0).stream().filter(p -> p.name().equals(w.param())).findFirst()
                    .orElseThrow(() -> new IllegalStateException(op.type() + " has no parameter " + w.param()));
            long have = w.tensor().numel();
            if (have != spec.shape().numel())
                throw new ShapeException(op.type() + " needs a " + w.param() + " of shape " + spec.shape() + " ("
                        + spec.shape().numel() + " elements) but the tensor has shape "
                        + Arrays.toString(w.tensor().shape) + " (" + have + ")");
            String init = w.tensor().initializer;
            if (init == null) continue;
            String first = paramOf.get(init);
            if (first == null) {
                paramOf.put(init, name + "." + w.param());
                paramShape.put(init, spec.shape());
            } else if (paramShape.get(init).equals(spec.shape())) tie.put(w.param(), first);
        }
        layers.add(new Layer(name, op, refs, tie));
        List<Val> out = new ArrayList<>();
        int k = outs.get(0).size();
        for (int i = 0; i < k; i++) {
            Shape[] s = new Shape[LANES];
            for (int lane = 0; lane < LANES; lane++) s[lane] = outs.get(lane).get(i);
            DType dt = op.outputDType(i);
            if (op.isView() || op instanceof Slice || op instanceof Transpose || op instanceof Split
                    || op instanceof Concat || op instanceof Pad) dt = ins.get(0).dtype;
            out.add(Val.act(k == 1 ? name : name + ":" + i, s, dt));
        }
        return out;
    }

    /**
     * The message of an error seen in one or both lanes, with sizes that follow the batch written over N, never as a
     * lane's internal batch value.
     */
    static String inWords(String lane0, String lane1) {
        if (lane0 != null && lane1 != null) {
            String merged = BatchDims.merge(lane0, lane1);
            return merged != null ? merged : "the shapes do not fit (in a way that depends on the batch size)";
        }
        return "the shapes do not fit at some batch sizes (they depend on the batch size)";
    }

    // ---------------------------------------------------------------- inputs and constants

    void addInitializer(TensorProto t) {
        String where = "initializer '" + t.getName() + "'";
        int[] dims = OnnxTensor.dims(t, where);
        if (OnnxTensor.isExternal(t)) OnnxTensor.external(t, modelDir, where); // fail now if the file is missing
        Val.Const c = new Val.Const(dims, null, () -> OnnxTensor.decode(t, modelDir, where),
                OnnxTensor.isFloating(t.getDataType()), t.getName(), false);
        vals.put(t.getName(), Val.constant(c));
    }

    void addInput(String name, List<String> dims, DType dtype) {
        Input op = new Input(dims, dtype);
        String layer = uniqueName(name);
        layers.add(new Layer(layer, op, List.of()));
        Shape[] s = new Shape[LANES];
        for (int lane = 0; lane < LANES; lane++) s[lane] = op.resolve(Map.of(ModelDef.BATCH, LANE_BATCH[lane]));
        vals.put(name, Val.act(layer, s, dtype));
    }

    /** Input k of a node; a pending transpose is emitted now unless MatMul reads it as its second operand. */
    Val input(OnnxNode n, int k) {
        Val v = vals.get(n.inputName(k));
        if (v == null) throw n.error("input '" + n.inputName(k)
                + "' is not produced by an earlier node, an initializer or a graph input");
        if (v.transposeOf != null && !(n.type().equals("MatMul") && k == 1)) v = materialize(v);
        return v;
    }

    static DType dtypeOf(int onnxType) {
        return switch (onnxType) {
            case DataType.INT64_VALUE, DataType.UINT64_VALUE -> DType.INT64;
            case DataType.INT32_VALUE, DataType.UINT32_VALUE, DataType.INT16_VALUE, DataType.UINT16_VALUE ->
                    DType.INT32;
            case DataType.BOOL_VALUE, DataType.INT8_VALUE, DataType.UINT8_VALUE -> DType.BOOL;
            default -> null;
        };
    }

    // ---------------------------------------------------------------- driver

    void run() {
        // Constant nodes first: patterns look at constants that may come later in file order.
        for (NodeProto n : graph.getNodeList())
            if (n.getOpType().equals("Constant") && isDefaultDomain(n)) {
                OnnxNode node = new OnnxNode(this, n);
                guarded(node, () -> node.put(0, Val.constant(folder.constantNode(node))));
                skip.add(n);
            }
        for (NodeProto n : graph.getNodeList()) {
            if (skip.contains(n)) continue;
            boolean unknownInput = false;
            for (String i : n.getInputList()) unknownInput |= !i.isEmpty() && vals.get(i) == Val.UNKNOWN;
            if (unknownInput) {
                // downstream of an unsupported operator: still count operators that are unsupported themselves
                String label = isDefaultDomain(n) ? n.getOpType() : n.getDomain() + "." + n.getOpType();
                if (!isDefaultDomain(n) || !supported(n.getOpType())) {
                    unsupported.merge(label, 1, Integer::sum);
                    unsupportedExample.putIfAbsent(label, OnnxNode.where(n));
                }
                for (String o : n.getOutputList()) vals.put(o, Val.UNKNOWN);
                continue;
            }
            OnnxNode node = new OnnxNode(this, n);
            try {
                guarded(node, () -> convert(node));
            } catch (Unsupported u) {
                unsupported.merge(u.label, 1, Integer::sum);
                unsupportedExample.putIfAbsent(u.label, node.where() + (u.getMessage() == null ? ""
                        : ": " + u.getMessage()));
                opaque(node);
            }
        }
    }

    /**
     * Runs one node's conversion so that whatever goes wrong names the node: shape errors of the ops keep their
     * words; anything else is a bug in a mapper, reported without the Java exception's text.
     */
    private static void guarded(OnnxNode n, Runnable conversion) {
        try {
            conversion.run();
        } catch (OnnxError | Unsupported e) {
            throw e;
        } catch (ShapeException e) {
            throw n.error(e.getMessage());
        } catch (RuntimeException e) {
            boolean ours = e.getClass() == IllegalArgumentException.class && e.getMessage() != null
                    && Character.isLetter(e.getMessage().charAt(0));
            throw n.error(ours ? e.getMessage() : "MemPlan cannot convert this node (an internal error: "
                    + e.getClass().getSimpleName() + "); please report it with the file");
        }
    }

    private static boolean isDefaultDomain(NodeProto n) {
        return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
    }

    private void convert(OnnxNode n) {
        String op = n.type();
        if (n.proto.getDomain().equals(MicrosoftNodes.DOMAIN)) {
            // onnxruntime's fusions, spelt out as the standard nodes they fuse
            for (NodeProto part : MicrosoftNodes.expand(n.proto)) convert(new OnnxNode(this, part));
            return;
        }
        if (!isDefaultDomain(n.proto)) throw new Unsupported(n.proto.getDomain() + "." + op, null);
        if (op.equals("Shape") || op.equals("Size")) {
            checkArity(n, OpMapper.Signature.of(op, 1, 1));
            folder.shapeOf(n);
            return;
        }
        boolean allConst = true;
        int present = 0;
        for (int k = 0; k < n.proto.getInputCount(); k++) {
            if (!n.has(k)) continue;
            present++;
            allConst &= n.in(k).isConst();
        }
        if (allConst && present > 0 && ConstantFolder.handles(op)) {
            folder.fold(n);
            return;
        }
        if (fusions.tryFuse(n)) return;
        for (int k : SHAPE_INPUTS.getOrDefault(op, List.of()))
            if (n.has(k) && vals.get(n.inputName(k)) != null && vals.get(n.inputName(k)).isAct())
                throw new Unsupported(op + " (sized by computed values)", "input " + k + " ('" + n.inputName(k)
                        + "') is computed from the data, so " + VALUE_SIZED + " (no upper bound is known)");
        Entry e = mappers.get(op);
        if (e == null) throw new Unsupported(op, DATA_DEPENDENT.contains(op) ? VALUE_SIZED + " (with --opaque it "
                + "is sized at its upper bound: " + boundText(op) + ")" : null);
        checkArity(n, e.signature());
        e.mapper().convert(n);
    }

    /** The node's input and output counts against its signature: one place for every mapper. */
    private static void checkArity(OnnxNode n, OpMapper.Signature s) {
        int count = n.proto.getInputCount();
        if (count > s.maxInputs()) throw n.error("takes " + s.expected() + ", got " + count);
        for (int k = 0; k < s.minInputs(); k++)
            if (!n.has(k)) throw n.error("takes " + s.expected() + ", but input " + k + " is missing");
        if (n.outputCount() < Math.max(1, s.minOutputs()) || s.minOutputs() > 0 && n.output(0).isEmpty())
            throw n.error("has no output");
    }

    /**
     * Outputs of an unsupported node: with --opaque an Opaque op of its first tensor input's shape; otherwise
     * unknown, so that conversion goes on only to find the other unsupported operators.
     */
    private void opaque(OnnxNode n) {
        if (!options.opaqueUnsupported()) {
            for (String o : n.proto.getOutputList()) vals.put(o, Val.UNKNOWN);
            return;
        }
        List<Val> acts = new ArrayList<>();
        for (int k = 0; k < n.proto.getInputCount(); k++) {
            Val v = n.has(k) ? vals.get(n.inputName(k)) : null;
            if (v != null && v.transposeOf != null) v = materialize(v);
            if (v != null && v.isAct()) acts.add(v);
        }
        if (acts.isEmpty() || n.outputCount() == 0)
            throw n.error("unsupported operator " + n.type()
                    + " has no tensor input, so it cannot be kept as an opaque op");
        String src = "onnx:" + (isDefaultDomain(n.proto) ? "" : n.proto.getDomain() + ".") + n.type();
        Opaque op = new Opaque(src, acts.size(), n.outputCount());
        if (isDefaultDomain(n.proto)) op = bounded(n, op, acts);
        List<Val> outs = emit(n.hint(), op, acts);
        for (int k = 0; k < outs.size(); k++) n.put(k, outs.get(k));
    }

    /** The upper bound a data-dependent operator is sized at under --opaque, in words. */
    private static String boundText(String op) {
        return switch (op) {
            case "NonZero" -> "[rank, numel] indices";
            case "NonMaxSuppression" -> "[min(max_output_boxes_per_class, boxes) x classes x batch, 3] indices";
            case "Unique" -> "the input's element count";
            default -> "the input's size";
        };
    }

    /**
     * NonZero, NonMaxSuppression and Unique sized at the upper bound of their output (int64 indices): every element
     * nonzero, every box kept for every class, every value distinct. Other operators keep input 0's shape.
     */
    private Opaque bounded(OnnxNode n, Opaque op, List<Val> acts) {
        String t = n.type();
        boolean tensorData = n.has(0) && vals.get(n.inputName(0)) != null && vals.get(n.inputName(0)).isAct();
        if (t.equals("NonZero") && tensorData)
            return new Opaque(op.source(), 1, n.outputCount(), Opaque.Bound.NONZERO, 0);
        if (t.equals("Unique") && tensorData)
            return new Opaque(op.source(), 1, n.outputCount(), Opaque.Bound.UNIQUE, 0);
        if (t.equals("NonMaxSuppression") && acts.size() >= 2 && tensorData && n.has(1)
                && vals.get(n.inputName(1)).isAct() && nmsShapes(acts.get(0), acts.get(1))) {
            int limit = 0; // ONNX: an absent max_output_boxes_per_class is 0, no box is selected
            if (n.has(2)) { // the box count is applied per batch size by the op (min(limit, boxes))
                Val v = vals.get(n.inputName(2));
                Double c = v != null && v.isConst() ? constScalar(n.inputName(2)) : null;
                limit = c == null ? Integer.MAX_VALUE : (int) Math.max(0, Math.min(Integer.MAX_VALUE, c));
            }
            return new Opaque(op.source(), acts.size(), n.outputCount(), Opaque.Bound.NMS, limit);
        }
        return op;
    }

    /** Boxes [B, n, 4] and scores [B, C, n] in both lanes (else NonMaxSuppression keeps the boxes' shape). */
    private static boolean nmsShapes(Val boxes, Val scores) {
        for (int lane = 0; lane < LANES; lane++) {
            Shape b = boxes.shape[lane], sc = scores.shape[lane];
            if (b.rank() != 3 || sc.rank() != 3 || b.dim(2) != 4 || b.dim(0) != sc.dim(0) || b.dim(1) != sc.dim(2))
                return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- graph structure, for patterns

    boolean isConsumed(String tensor) {
        return consumers.containsKey(tensor);
    }

    List<NodeProto> consumersOf(String tensor) {
        return consumers.getOrDefault(tensor, List.of());
    }

    /** The node writing a tensor, or null for graph inputs and initializers. */
    NodeProto producerOf(String tensor) {
        return producers.get(tensor);
    }

    boolean isGraphOutput(String tensor) {
        return graphOutputs.contains(tensor);
    }

    /** The only node reading a tensor, if it is of the given op type and the tensor is not a graph output. */
    NodeProto soleConsumer(String tensor, String opType) {
        List<NodeProto> cs = consumersOf(tensor);
        if (cs.size() != 1 || graphOutputs.contains(tensor)) return null;
        NodeProto c = cs.get(0);
        return c.getOpType().equals(opType) && isDefaultDomain(c) ? c : null;
    }

    /** The value of a tensor that is a constant single number, else null. */
    Double constScalar(String tensor) {
        Val v = tensor == null ? null : vals.get(tensor);
        if (v == null || !v.isConst() || v.c.numel() != 1) return null;
        Arr a = v.c.lane(0);
        return a == null ? null : a.v()[0];
    }

    // ---------------------------------------------------------------- views shared by mappers

    /**
     * A view of x with the given concrete shape in each lane, written batch-independently: entries equal in both
     * lanes are literal, an entry that follows x's own batch-dependent dimension at the same position is 0, one
     * other batch-dependent entry is -1.
     */
    Val reshapeTo(String hint, Val x, long[][] t) {
        boolean same = true;
        for (int lane = 0; lane < LANES; lane++)
            same &= Arrays.equals(t[lane], Arrays.stream(x.shape[lane].dims()).asLongStream().toArray());
        if (same) return x;
        List<Integer> spec = new ArrayList<>();
        boolean inferred = false;
        for (int i = 0; i < t[0].length; i++) {
            if (t[0][i] == t[1][i]) spec.add((int) t[0][i]);
            else if (i < x.rank() && x.shape[0].dim(i) == t[0][i] && x.shape[1].dim(i) == t[1][i]) spec.add(0);
            else if (!inferred) {
                spec.add(-1);
                inferred = true;
            } else throw new OnnxError("node '" + hint + "'", "the target shape " + BatchDims.describe(t[0], t[1])
                    + " depends on the batch size in more than one dimension");
        }
        Val y = emit(hint, new Reshape(spec), List.of(x)).get(0);
        for (int lane = 0; lane < LANES; lane++)
            if (!Arrays.equals(Arrays.stream(y.shape[lane].dims()).asLongStream().toArray(), t[lane]))
                throw new OnnxError("node '" + hint + "'", "cannot express the reshape of "
                        + BatchDims.describe(x.shape) + " to " + BatchDims.describe(t[0], t[1])
                        + " independently of the batch size");
        return y;
    }

    private record PendingTranspose(String hint, List<Integer> perm) {
    }

    private final Map<Val, PendingTranspose> pendingTransposes = new IdentityHashMap<>();

    /** A transpose of x not emitted yet: MatMul reads it as transposeB; any other reader materializes it. */
    Val pendingTranspose(String hint, Val x, List<Integer> perm) {
        Shape[] s = new Shape[LANES];
        for (int lane = 0; lane < LANES; lane++)
            s[lane] = new Transpose(perm).inferShapes(List.of(x.shape[lane])).get(0);
        Val pending = Val.act("<pending transpose of " + x.ref + ">", s, x.dtype);
        pending.transposeOf = x;
        pendingTransposes.put(pending, new PendingTranspose(hint, perm));
        return pending;
    }

    Val materialize(Val pending) {
        PendingTranspose p = pendingTransposes.get(pending);
        return emit(p.hint(), new Transpose(p.perm()), List.of(pending.transposeOf)).get(0);
    }
}

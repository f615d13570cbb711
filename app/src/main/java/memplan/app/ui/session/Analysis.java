package memplan.app.ui.session;

import memplan.app.ui.graph.GraphLayout;
import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.profile.Liveness;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;
import memplan.train.TrainingGraph;
import memplan.train.TrainingSetup;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything the app derives once per (model, batch, dtype, optimizer): the training schedule, its baseline profile,
 * the layout of the layer graph, and the maps between tensors and layers. Immutable; built off the UI thread.
 */
public final class Analysis {
    private final ModelDef model;
    private final Schedule schedule;
    private final Liveness liveness;
    private final MemoryProfile profile;
    private final GraphLayout layout;
    private final int[] nodeOfTensor;
    private final int[][] tensorsOfNode;
    private final boolean[] savedForBackward;
    private final int[] forwardUses; // steps that read a tensor in the forward phase, count
    private final double millis;

    private Analysis(ModelDef model, Schedule schedule, Liveness liveness, MemoryProfile profile, GraphLayout layout,
                     int[] nodeOfTensor, int[][] tensorsOfNode, boolean[] savedForBackward,
                             int[] forwardUses, double millis) {
        this.model = model;
        this.schedule = schedule;
        this.liveness = liveness;
        this.profile = profile;
        this.layout = layout;
        this.nodeOfTensor = nodeOfTensor;
        this.tensorsOfNode = tensorsOfNode;
        this.savedForBackward = savedForBackward;
        this.forwardUses = forwardUses;
        this.millis = millis;
    }

    public static Analysis of(ModelDef model, int batch, DType dtype, Optimizer optimizer) {
        return of(model, batch, dtype, optimizer, Map.of());
    }

    public static Analysis of(ModelDef model, int batch, DType dtype, Optimizer optimizer, Map<String, Integer> dims) {
        return of(model, batch, dtype, optimizer, dims, TrainingSetup.DEFAULT);
    }

    /** The iteration of a training setup (frozen parameters, accumulation, 8-bit state, NF4, autocast). */
    public static Analysis of(ModelDef model, int batch, DType dtype, Optimizer optimizer, Map<String, Integer> dims,
                              TrainingSetup setup) {
        long t0 = System.nanoTime();
        Graph g = Graph.instantiate(model, batch, dtype, dims);
        Schedule s = TrainingGraph.derive(g, optimizer, FrameworkProfile.GENERIC, setup);
        return of(model, s, t0);
    }

    public static Analysis of(ModelDef model, Schedule s, long startNanos) {
        Graph g = s.graph();
        Liveness live = Liveness.of(s);
        MemoryProfile p = MemoryProfile.of(s, live);

        int nn = g.nodes().size();
        int[][] edges = edges(g);
        GraphLayout layout = GraphLayout.of(nn, edges);

        int[] nodeOfValue = new int[g.values().size()];
        Arrays.fill(nodeOfValue, -1);
        for (Node n : g.nodes()) {
            for (int v : n.outputs()) nodeOfValue[v] = n.index();
            for (int v : n.aux()) nodeOfValue[v] = n.index();
            for (int v : n.params()) if (nodeOfValue[v] < 0) nodeOfValue[v] = n.index();
        }
        int[] nodeOfTensor = new int[s.tensorCount()];
        for (TensorInfo t : s.tensors()) {
            int node = -1;
            if (t.value() >= 0) node = nodeOfValue[g.storageOf(t.value())];
            else {
                String name = t.name();
                int dot = name.lastIndexOf('.');
                Node n = dot > 0 ? g.node(name.substring(0, dot)) : null;
                if (n != null) node = n.index();
            }
            nodeOfTensor[t.id()] = node;
        }
        List<List<Integer>> byNode = new ArrayList<>();
        for (int i = 0; i < nn; i++) byNode.add(new ArrayList<>());
        for (int t = 0; t < nodeOfTensor.length; t++) if (nodeOfTensor[t] >= 0) byNode.get(nodeOfTensor[t]).add(t);
        int[][] tensorsOfNode = new int[nn][];
        for (int i = 0; i < nn; i++) tensorsOfNode[i] = byNode.get(i).stream().mapToInt(Integer::intValue).toArray();

        boolean[] saved = new boolean[s.tensorCount()];
        int[] fwdUses = new int[s.tensorCount()];
        for (Step st : s.steps()) {
            for (int t : st.reads()) {
                TensorKind k = s.tensor(t).kind();
                boolean fwdTensor = k == TensorKind.ACTIVATION || k == TensorKind.AUX || k == TensorKind.DATA;
                if (st.phase() == Phase.BACKWARD && fwdTensor) saved[t] = true;
                if (st.phase() == Phase.FORWARD) fwdUses[t]++;
            }
        }
        return new Analysis(model, s, live, p, layout, nodeOfTensor, tensorsOfNode, saved, fwdUses,
                (System.nanoTime() - startNanos) / 1e6);
    }

    /** Node-to-node edges of the forward graph (one per input of each node, from its producer). */
    static int[][] edges(Graph g) {
        int[] producer = new int[g.values().size()];
        Arrays.fill(producer, -1);
        for (Node n : g.nodes()) for (int v : n.outputs()) producer[v] = n.index();
        List<int[]> out = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        for (Node n : g.nodes())
            for (int v : n.inputs()) {
                int p = producer[v];
                if (p >= 0 && p != n.index() && seen.add(((long) p << 32) | n.index()))
                    out.add(new int[]{p, n.index()});
            }
        return out.toArray(new int[0][]);
    }

    public ModelDef model() { return model; }
    public Schedule schedule() { return schedule; }
    public Graph graph() { return schedule.graph(); }
    public Liveness liveness() { return liveness; }
    public MemoryProfile profile() { return profile; }
    public GraphLayout layout() { return layout; }
    /** Layer (forward-graph node) a tensor belongs to, or -1. */
    public int nodeOf(int tensor) { return nodeOfTensor[tensor]; }
    public int[] tensorsOf(int node) { return tensorsOfNode[node]; }
    /** Whether a backward step reads this forward tensor (PyTorch's saved tensors). */
    public boolean savedForBackward(int tensor) { return savedForBackward[tensor]; }
    public int forwardUses(int tensor) { return forwardUses[tensor]; }
    /** How long building this analysis took. */
    public double millis() { return millis; }
}

package memplan.parallel;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ops.Embedding;
import memplan.ops.Linear;
import memplan.train.Schedule;
import memplan.train.TensorInfo;

/**
 * Which tensors Megatron's tensor parallelism splits over the tp ranks of a stage, found by propagating through the
 * graph: a Linear whose input is whole is column-parallel (its output is split), a Linear whose input is split is
 * row-parallel (its output is whole again, after the all-reduce); every other op's outputs are split when one of
 * its inputs is. Inside an attention or MLP block this splits the QKV and fc1 outputs, the attention scores, the
 * GELU and the inputs of the output projections, and keeps the LayerNorm inputs, the residual stream and the
 * dropout masks after the row-parallel Linears whole: the 10sbh per layer Korthikanti et al. count as not split
 * without sequence parallelism. Weights of Linear and Embedding layers are split (Embedding by vocabulary), others
 * (LayerNorm, biases of row-parallel Linears count as split here: they are small) are whole.
 */
final class TensorSplit {
    private final boolean[] splitValue;
    private final boolean[] splitParam;

    private TensorSplit(boolean[] splitValue, boolean[] splitParam) {
        this.splitValue = splitValue;
        this.splitParam = splitParam;
    }

    static TensorSplit of(Graph g) {
        int n = g.values().size();
        boolean[] split = new boolean[n];
        boolean[] param = new boolean[n];
        for (Node nd : g.nodes()) {   // topological order
            boolean in = false;
            for (int v : nd.inputs()) in |= split[g.storageOf(v)];
            boolean out = nd.op() instanceof Linear ? !in : in;
            for (int v : nd.outputs()) split[v] = out;
            for (int v : nd.aux()) split[v] = out;
            if (nd.op() instanceof Linear || nd.op() instanceof Embedding) for (int p : nd.params()) param[p] = true;
        }
        return new TensorSplit(split, param);
    }

    /** Whether a forward value (or the one it views) is divided over the tp ranks. */
    boolean valueSplit(Graph g, int value) {
        return splitValue[g.storageOf(value)];
    }

    /** Whether the tensor is divided over the tp ranks; workspaces (no value) are. */
    boolean split(Schedule s, TensorInfo t) {
        if (t.value() < 0) return true;
        return switch (t.kind()) {
            case PARAM, PARAM_GRAD, OPTIMIZER_STATE -> splitParam[t.value()];
            case ACTIVATION, AUX, ACTIVATION_GRAD -> splitValue[s.graph().storageOf(t.value())];
            case DATA, BUFFER, WORKSPACE -> false;
        };
    }
}

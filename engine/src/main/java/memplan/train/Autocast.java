package memplan.train;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.graph.ValueKind;
import memplan.ir.DType;
import memplan.ops.Conv2d;
import memplan.ops.ConvTranspose2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.MatMul;
import memplan.ops.MseLoss;
import memplan.ops.NormOp;
import memplan.ops.Op;

/**
 * Which type each tensor has under {@code torch.autocast} (PyTorch 1.13 on the CPU, measured with tools/pytorch):
 * matmuls and convolutions compute in the low type, casting their fp32 operands (weights included) to low-type
 * copies; losses compute in fp32, casting low-type inputs up; every other op computes in its inputs' widest type
 * (an fp32 residual plus a bf16 branch is fp32), so LayerNorm after a residual stays fp32, and GELU, softmax or
 * BatchNorm after a matmul or convolution run in the low type. Parameters, their gradients and the optimizer stay fp32.
 */
final class Autocast {
    private Autocast() {
    }

    /** Ops autocast runs in the low type. */
    static boolean low(Op op) {
        return op instanceof Linear || op instanceof MatMul || op instanceof Conv2d || op instanceof ConvTranspose2d;
    }

    /** Ops autocast runs in fp32. */
    static boolean fp32(Op op) {
        return op instanceof CrossEntropy || op instanceof MseLoss;
    }

    /** The type of every value: the graph's own without autocast; with it, the rules above. */
    static DType[] valueTypes(Graph g, DType low) {
        DType[] t = new DType[g.values().size()];
        for (Value v : g.values()) t[v.id()] = v.dtype();
        if (low == null) return t;
        for (Node n : g.nodes()) {
            if (n.op() instanceof Input) continue;
            DType out = computeType(g, n, t, low);
            for (int o : n.outputs()) if (g.value(o).dtype().floating) t[o] = out;
        }
        return t;
    }

    /** The type an op computes in under autocast, given its inputs' types. */
    static DType computeType(Graph graph, Node n, DType[] t, DType low) {
        if (low(n.op())) return low;
        if (fp32(n.op())) return DType.FP32;
        boolean anyFloat = false, wide = false;
        for (int in : n.inputs())
            if (t[in].floating) {
                anyFloat = true;
                wide |= t[in].bytes > low.bytes;
            }
        // learned operands take part in type promotion (x + a learned fp32 table is fp32); a normalisation's
        // affine weights and any buffer (a mask, running statistics) do not: BatchNorm of bf16 is bf16
        if (!(n.op() instanceof NormOp)) for (int p : n.params())
            wide |= graph.value(p).kind() == ValueKind.PARAM && t[p].floating && t[p].bytes > low.bytes;
        return !anyFloat || wide ? DType.FP32 : low;
    }
}

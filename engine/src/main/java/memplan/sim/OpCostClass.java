package memplan.sim;

import memplan.backend.cpu.WinogradConv;
import memplan.graph.Node;
import memplan.ops.AttentionOp;
import memplan.ops.Conv2d;
import memplan.ops.Conv3d;
import memplan.ops.ConvTranspose2d;
import memplan.ops.Embedding;
import memplan.ops.LSTMCell;
import memplan.ops.Linear;
import memplan.ops.LossOp;
import memplan.ops.MatMul;
import memplan.ops.MovementOp;
import memplan.ops.NormOp;
import memplan.ops.Op;
import memplan.ops.PoolOp;
import memplan.ops.ReduceOp;
import memplan.ops.Softmax;

import java.util.Locale;

/**
 * How a CPU spends an op's time. The product classes (products, convolutions as their im2col product, the 3x3
 * convolutions the CPU backend runs by Winograd's algorithm, attention, recurrent cells) run at a throughput
 * that depends on the product's shape; the others cost a fixed part per call plus their bytes at the bandwidth
 * their kernels reach, which differs between classes (a normalisation reads its input twice, a pooling window
 * gathers, a copy only moves). Views cost the executor's step only; an optimizer
 * update of one parameter tensor is a class of its own.
 */
public enum OpCostClass {
    PRODUCT, CONV, WINOGRAD, ATTENTION, RECURRENT, NORM, SOFTMAX, POINTWISE, POOL, COPY, EMBEDDING, LOSS, VIEW,
    OPTIMIZER;

    /** Whether the class's time is its FLOPs at a shape-dependent throughput. */
    public boolean product() {
        return this == PRODUCT || this == CONV || this == WINOGRAD || this == ATTENTION || this == RECURRENT;
    }

    /** Lower-case name for tables and files. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The class of a node's op, where the shapes decide: a convolution the CPU backend runs by Winograd's
     * algorithm does about a quarter of the arithmetic its FLOPs count, so it is timed apart. Null: an optimizer
     * step.
     */
    public static OpCostClass of(Node node) {
        if (node == null) return OPTIMIZER;
        if (node.op() instanceof Conv2d c && !node.inShapes().isEmpty() && !node.outShapes().isEmpty()
                && WinogradConv.runs(c, node.inShapes().get(0), node.outShapes().get(0)))
            return WINOGRAD;
        return of(node.op());
    }

    /** The class of {@code op}; ops of kinds added later default to pointwise (a streaming kernel). */
    public static OpCostClass of(Op op) {
        if (op == null) return OPTIMIZER;
        if (op.isView()) return VIEW;
        if (op instanceof Conv2d || op instanceof ConvTranspose2d || op instanceof Conv3d) return CONV;
        if (op instanceof Linear || op instanceof MatMul) return PRODUCT;
        if (op instanceof AttentionOp) return ATTENTION;
        if (op instanceof LSTMCell) return RECURRENT;
        if (op instanceof Softmax) return SOFTMAX;
        if (op instanceof NormOp) return NORM;
        if (op instanceof PoolOp || op instanceof ReduceOp) return POOL;
        if (op instanceof MovementOp) return COPY;
        if (op instanceof Embedding) return EMBEDDING;
        if (op instanceof LossOp) return LOSS;
        return POINTWISE;
    }

    /** The class named by {@link #label()}, or null. */
    public static OpCostClass ofLabel(String label) {
        for (OpCostClass c : values()) if (c.label().equals(label)) return c;
        return null;
    }
}

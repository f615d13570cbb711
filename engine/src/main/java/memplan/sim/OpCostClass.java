package memplan.sim;

import memplan.ops.AttentionOp;
import memplan.ops.Conv2d;
import memplan.ops.ConvTranspose2d;
import memplan.ops.GemmOp;
import memplan.ops.LSTMCell;
import memplan.ops.Op;

/**
 * How a CPU spends an op's time: in matrix products (efficiency grows with their size), in convolutions (im2col and
 * a product), streaming memory, or only the executor's fixed cost per op (views).
 */
public enum OpCostClass {
    GEMM, CONV, MEMORY, VIEW;

    public static OpCostClass of(Op op) {
        if (op.isView()) return VIEW;
        if (op instanceof Conv2d || op instanceof ConvTranspose2d) return CONV;
        if (op instanceof GemmOp || op instanceof AttentionOp || op instanceof LSTMCell) return GEMM;
        return MEMORY;
    }
}

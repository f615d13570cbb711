package memplan.onnx;

import memplan.ir.DType;
import memplan.ir.Shape;

import java.util.function.Supplier;

/**
 * What an ONNX tensor name stands for while converting: an activation (a MemPlan layer output with its shape in
 * each evaluation lane), a constant (initializer, Constant node or folded shape computation), or unknown (the
 * output of an unsupported operator with no tensor input).
 *
 * <p>The graph is evaluated in two lanes at once, with the batch set to {@link Converter#LANE_BATCH}[lane].
 * A dimension or shape value that differs between the lanes depends on the batch; that is how a folded Reshape
 * target knows which of its entries to write as 0 (copy) or -1 (infer) so the model stays batch-independent.
 */
final class Val {
    final String ref;
    final Shape[] shape;
    final DType dtype;
    final Const c;
    /** A Transpose of the last two axes not emitted yet, because its only reader is MatMul (as transposeB). */
    Val transposeOf;

    private Val(String ref, Shape[] shape, DType dtype, Const c) {
        this.ref = ref;
        this.shape = shape;
        this.dtype = dtype;
        this.c = c;
    }

    static final Val UNKNOWN = new Val(null, null, null, null);

    static Val act(String ref, Shape[] shape, DType dtype) {
        return new Val(ref, shape, dtype, null);
    }

    static Val constant(Const c) {
        return new Val(null, null, null, c);
    }

    boolean isAct() {
        return ref != null;
    }

    boolean isConst() {
        return c != null;
    }

    int rank() {
        return isAct() ? shape[0].rank() : c.shape.length;
    }

    /**
     * A constant: its shape, its values per lane (decoded lazily for initializers, null if too large to need),
     * whether it is floating, and the initializer it comes from (for parameters and tying).
     */
    static final class Const {
        final int[] shape;
        private Arr[] lanes;
        private Supplier<double[]> lazy;
        final boolean floating;
        final String initializer;
        final boolean constantNode;

        Const(int[] shape, Arr[] lanes, Supplier<double[]> lazy, boolean floating, String initializer,
              boolean constantNode) {
            this.shape = shape;
            this.lanes = lanes;
            this.lazy = lazy;
            this.floating = floating;
            this.initializer = initializer;
            this.constantNode = constantNode;
        }

        static Const of(Arr a0, Arr a1, boolean floating) {
            return new Const(a0.shape(), new Arr[]{a0, a1}, null, floating, null, false);
        }

        static Const same(Arr a, boolean floating) {
            return of(a, a, floating);
        }

        long numel() {
            return OnnxTensor.numel(shape);
        }

        /** Values in a lane, or null if they were too large to decode. */
        Arr lane(int lane) {
            if (lanes == null && lazy != null) {
                double[] v = lazy.get();
                lazy = null;
                if (v != null) {
                    Arr a = new Arr(shape, v);
                    lanes = new Arr[]{a, a};
                }
            }
            return lanes == null ? null : lanes[lane];
        }
    }
}

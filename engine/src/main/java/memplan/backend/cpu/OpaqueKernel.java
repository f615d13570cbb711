package memplan.backend.cpu;

import memplan.ops.Opaque;

import java.util.Arrays;

/** The placeholder kernel of an op MemPlan does not model. */
final class OpaqueKernel {
    private OpaqueKernel() {
    }

    /**
     * A PLACEHOLDER for an operator MemPlan does not model: every output is a copy of input 0 (the op's declared
     * shape), and backward passes the sum of the outputs' gradients to input 0 (zero to the other inputs). This
     * lets a model with opaque ops run so that its memory behaviour can be measured; the values it computes mean
     * nothing.
     */
    static final class OpaqueK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf x = a.in()[0];
            for (Buf y : a.out()) {
                if (y.sameMemory(x)) continue;
                // an output sized at an upper bound (int64 indices) may be smaller or larger than x
                int n = Math.min(x.slots(), y.slots());
                System.arraycopy(x.data(), x.offset(), y.data(), y.offset(), n);
                Arrays.fill(y.data(), y.offset() + n, y.offset() + y.slots(), 0f);
            }
        }

        @Override
        public void backward(BackwardArgs a) {
            int outs = a.node().outShapes().size();
            Buf gx = a.gradIn(0);
            if (((Opaque) a.node().op()).bound() != Opaque.Bound.NONE) outs = 0; // indices
            if (gx != null) {
                boolean acc = a.accIn(0);
                // the output gradient gx may alias goes first (written over, then others added)
                int alias = -1;
                for (int k = 0; k < outs; k++) if (gx.sameMemory(a.gradOut(k))) alias = k;
                boolean written = acc;
                if (alias >= 0) { K.copyGrad(a.gradOut(alias), gx, acc); written = true; }
                for (int k = 0; k < outs; k++) {
                    if (k == alias || a.gradOut(k) == null) continue;
                    K.copyGrad(a.gradOut(k), gx, written);
                    written = true;
                }
                if (!written) K.zero(gx);
            }
            for (int i = 1; i < a.node().inShapes().size(); i++) {
                Buf g = a.gradIn(i);
                if (g != null && !a.accIn(i)) K.zero(g);
            }
        }
    }
}

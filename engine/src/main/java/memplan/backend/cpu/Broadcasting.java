package memplan.backend.cpu;

import memplan.ir.Shape;

import java.util.Arrays;

/**
 * NumPy broadcasting for the CPU kernels: shapes are aligned from the right and a dimension of 1 repeats. The
 * gradient of an operand smaller than the output is summed over its broadcast positions in increasing output order
 * (in double, in parallel over the operand's elements), so it is deterministic; same-shape operands are computed
 * elementwise in parallel and may alias gradOut.
 */
final class Broadcasting {
    private Broadcasting() {
    }

    /**
     * Element strides of {@code s} aligned to the last {@code s.rank()} of an output of rank r; 0 on broadcast dims.
     */
    static int[] bstrides(Shape s, Shape out) {
        int r = out.rank();
        int[] st = new int[r];
        int stride = 1;
        for (int i = s.rank() - 1; i >= 0; i--) {
            int oi = i + (r - s.rank());
            st[oi] = s.dim(i) == 1 && out.dim(oi) != 1 ? 0 : stride;
            stride *= s.dim(i);
        }
        return st;
    }

    /** Index into an operand of each output element: a broadcast map. */
    static final class BMap {
        final int[] dims, strides;
        final boolean identity;

        BMap(Shape operand, Shape out) {
            dims = out.dims();
            strides = bstrides(operand, out);
            identity = operand.numel() == out.numel();
        }

        /** Operand index of output element i. */
        int at(int i) {
            if (identity) return i;
            int idx = 0;
            for (int d = dims.length - 1; d >= 0; d--) {
                int c = i % dims[d];
                i /= dims[d];
                idx += c * strides[d];
            }
            return idx;
        }
    }

    interface IndexedTerm {
        /** The gradient contribution of output element i (operand index j). */
        double at(int i);
    }

    /**
     * g (+)= the per-output-element terms, summed over the output elements that map to each element of g. Same size
     * as the output: elementwise in parallel (term i is read before element i is written, so g may alias gradOut).
     * Smaller: summed in increasing output order in double.
     */
    static void reduceInto(Buf g, Shape out, boolean acc, IndexedTerm term) {
        float[] gd = g.data();
        int go = g.offset();
        int n = (int) out.numel();
        if (g.numel() == n) {
            Par.range(n, K.GRAIN / 8, (s, e) -> {
                for (int i = s; i < e; i++) K.put(gd, go + i, (float) term.at(i), acc);
            });
            return;
        }
        // parallel over the elements of g; each sums its output elements in increasing output order (an odometer
        // over the broadcast dimensions), so the result does not depend on the thread count
        int r = out.rank();
        int[] od = out.dims(), st = bstrides(g.shape(), out);
        int[] oStride = new int[r];
        for (int d = r - 1, v = 1; d >= 0; d--) { oStride[d] = v; v *= od[d]; }
        int count = 0;
        for (int d = 0; d < r; d++) if (st[d] == 0 && od[d] > 1) count++;
        int nb = count;
        int[] bDims = new int[nb], bStride = new int[nb];
        for (int d = 0, k = 0; d < r; d++) if (st[d] == 0 && od[d] > 1) { bDims[k] = od[d]; bStride[k++] = oStride[d]; }
        int[] gDims = new int[r]; // g's dims aligned to the output (1 where broadcast or missing)
        for (int d = 0; d < r; d++) gDims[d] = st[d] == 0 ? 1 : od[d];
        int per = n / g.numel();
        Par.range(g.numel(), Par.grain(g.numel(), per), (s, e) -> {
            int[] c = new int[nb];
            for (int j = s; j < e; j++) {
                int rem = j, base = 0;
                for (int d = r - 1; d >= 0; d--) {
                    base += (rem % gDims[d]) * oStride[d];
                    rem /= gDims[d];
                }
                Arrays.fill(c, 0);
                double sum = 0;
                int i = base;
                for (int cnt = 0; cnt < per; cnt++) {
                    sum += term.at(i);
                    for (int k = nb - 1; k >= 0; k--) { // next broadcast position, last dimension fastest
                        i += bStride[k];
                        if (++c[k] < bDims[k]) break;
                        i -= bStride[k] * bDims[k];
                        c[k] = 0;
                    }
                }
                K.put(gd, go + j, (float) sum, acc);
            }
        });
    }

    /** Whether element i of a tensor of any dtype is nonzero (a mask). */
    static boolean truth(Buf b, int i) {
        return switch (b.dtype()) {
            case FP32 -> b.get(i) != 0f;
            case INT32 -> b.getInt(i) != 0;
            case INT64 -> b.getLong(i) != 0;
            case BOOL, UINT8 -> b.getByte(i) != 0;
            case FP16, BF16 -> (b.getHalf(i) & 0x7fff) != 0;
        };
    }
}

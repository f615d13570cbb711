package memplan.cuda;

import memplan.backend.BackendException;
import memplan.ir.Shape;

import java.util.ArrayList;
import java.util.List;

/**
 * An output shape as the broadcasting kernels (binary.cu, reduce.cu) take it: at most 6 dims, and each operand's
 * element stride along them (0 where the operand broadcasts). Dims of size 1 are dropped and neighbours merged where
 * every operand is contiguous across them, so rank 6 covers any broadcast of two operands that alternates at most
 * six times. Merging keeps the order of output elements, so sums over broadcast positions keep theirs.
 */
record Strided6(int[] dims, long[][] strides) {
    static final int RANK = 6;

    /** Element strides of operand s along the dims of out (aligned from the right); 0 where s broadcasts. */
    static long[] broadcastStrides(Shape s, Shape out) {
        int r = out.rank();
        long[] st = new long[r];
        long stride = 1;
        for (int i = s.rank() - 1; i >= 0; i--) {
            int oi = i + (r - s.rank());
            st[oi] = s.dim(i) == 1 && out.dim(oi) != 1 ? 0 : stride;
            stride *= s.dim(i);
        }
        return st;
    }

    /** out with operands broadcast against it; what names the op in the message if it needs more than 6 dims. */
    static Strided6 of(String what, Shape out, List<Shape> operands) {
        List<long[]> st = new ArrayList<>();
        for (Shape s : operands) st.add(broadcastStrides(s, out));
        return collapse(what, out.dims(), st);
    }

    /** dims with per-operand strides along them, collapsed. */
    static Strided6 collapse(String what, int[] dims, List<long[]> perOperand) {
        int ops = perOperand.size();
        List<Integer> d = new ArrayList<>();
        List<long[]> s = new ArrayList<>();   // per kept dim: the stride of each operand
        for (int k = 0; k < dims.length; k++) {
            if (dims[k] == 1) continue;
            long[] here = new long[ops];
            for (int o = 0; o < ops; o++) here[o] = perOperand.get(o)[k];
            if (!d.isEmpty()) {
                long[] prev = s.get(s.size() - 1);
                boolean contiguous = true;
                for (int o = 0; o < ops; o++) contiguous &= prev[o] == here[o] * dims[k];
                if (contiguous) {
                    d.set(d.size() - 1, d.get(d.size() - 1) * dims[k]);
                    s.set(s.size() - 1, here);
                    continue;
                }
            }
            d.add(dims[k]);
            s.add(here);
        }
        if (d.size() > RANK)
            throw new BackendException(what + ": the CUDA kernels take at most " + RANK
                    + " broadcast dimensions, this needs " + d.size());
        int pad = RANK - d.size();
        int[] outDims = new int[RANK];
        long[][] outStrides = new long[ops][RANK];
        for (int k = 0; k < RANK; k++) {
            outDims[k] = k < pad ? 1 : d.get(k - pad);
            for (int o = 0; o < ops; o++) outStrides[o][k] = k < pad ? 0 : s.get(k - pad)[o];
        }
        return new Strided6(outDims, outStrides);
    }

    /** Launch arguments: the 6 dims (Integer), then the 6 strides (Long) of each listed operand. */
    Object[] args(int... operands) {
        Object[] a = new Object[RANK * (1 + operands.length)];
        for (int k = 0; k < RANK; k++) a[k] = dims[k];
        for (int o = 0; o < operands.length; o++)
            for (int k = 0; k < RANK; k++) a[RANK * (1 + o) + k] = strides[operands[o]][k];
        return a;
    }

    /** Elements of the output. */
    long numel() {
        long n = 1;
        for (int v : dims) n *= v;
        return n;
    }
}

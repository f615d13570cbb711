package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.CumSum;
import memplan.ops.ReduceMean;
import memplan.ops.TopK;

import java.util.Arrays;

import static memplan.backend.cpu.Broadcasting.*;

/** Kernels of the reductions, and of the scan (CumSum) and selection (TopK) along one axis. */
final class ReduceKernels {
    private ReduceKernels() {
    }

    /**
     * Mean over axes (all when none are listed); sums in double in increasing index order. Backward spreads g / count.
     */
    static final class ReduceMeanK implements CpuKernel {
        /** The output shape with the reduced axes kept as 1, and the number of elements averaged. */
        private static Shape kept(ReduceMean op, Shape x) {
            int r = x.rank();
            int[] d = x.dims();
            if (op.axes().isEmpty()) Arrays.fill(d, 1);
            for (int ax : op.axes()) d[ax < 0 ? ax + r : ax] = 1;
            return new Shape(d);
        }

        @Override
        public void forward(ForwardArgs a) {
            ReduceMean op = (ReduceMean) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            Shape xs = x.shape(), ks = kept(op, xs);
            int r = xs.rank();
            int[] xd = xs.dims(), kd = ks.dims();
            int[] xStride = new int[r];
            for (int i = r - 1, st = 1; i >= 0; i--) { xStride[i] = st; st *= xd[i]; }
            // the reduced sub-box: dims where kd == 1 but xd > 1 (or listed)
            int count = (int) (xs.numel() / Math.max(1, ks.numel()));
            int[] rDims = new int[r];
            for (int i = 0; i < r; i++) rDims[i] = kd[i] == xd[i] ? 1 : xd[i];
            int nOut = (int) ks.numel();
            float[] xa = x.data(), ya = y.data();
            int xo = x.offset(), yo = y.offset();
            Par.range(nOut, Par.grain(nOut, count), (s, e) -> {
                int[] idx = new int[r];
                for (int o = s; o < e; o++) {
                    int rem = o, base = 0;
                    for (int d = r - 1; d >= 0; d--) {
                        int c = rem % kd[d];
                        rem /= kd[d];
                        base += c * xStride[d];
                    }
                    double sum = 0;
                    for (int j = 0; j < count; j++) {
                        int rj = j, off = 0;
                        for (int d = r - 1; d >= 0; d--) {
                            int c = rj % rDims[d];
                            rj /= rDims[d];
                            off += c * xStride[d];
                        }
                        sum += xa[xo + base + off];
                    }
                    ya[yo + o] = (float) (sum / count);
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            ReduceMean op = (ReduceMean) a.node().op();
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            if (K.nothingToPropagate(gy, gx, acc)) return;
            Shape xs = a.node().inShapes().get(0), ks = kept(op, xs);
            BMap m = new BMap(ks, xs);
            int count = (int) (xs.numel() / Math.max(1, ks.numel()));
            float[] gyd = gy.data(), gxd = gx.data();
            int go = gy.offset(), xo = gx.offset();
            Par.range(gx.numel(), K.GRAIN / 4, (s, e) -> {
                for (int i = s; i < e; i++) K.put(gxd, xo + i, gyd[go + m.at(i)] / count, acc);
            });
        }
    }

    /** A tensor seen as [outer, len, inner] around one axis: line l starts at (l / inner) * len * inner + l % inner. */
    private record Lines(int outer, int len, int inner) {
        static Lines of(Shape x, int axis) {
            int ax = axis < 0 ? axis + x.rank() : axis;
            return new Lines((int) x.numel(0, ax), x.dim(ax), (int) x.numel(ax + 1, x.rank()));
        }

        int count() {
            return outer * inner;
        }

        int start(int line) {
            return line / inner * len * inner + line % inner;
        }
    }

    /**
     * Running sum along the axis, in double in the direction of the sum, one line per task. Backward: the running sum
     * of the gradient in the other direction with the same exclusivity (nothing saved).
     */
    static final class CumSumK implements CpuKernel {
        /** dst[j] (+)= the running sum of src along one line; reverse walks from the end. */
        private static void scan(float[] src, int so, float[] dst, int dOff, Lines l, boolean exclusive,
                                 boolean reverse, boolean acc) {
            int n = l.len(), st = l.inner();
            Par.range(l.count(), Par.grain(l.count(), n), (s, e) -> {
                for (int line = s; line < e; line++) {
                    int base = l.start(line);
                    double sum = 0;
                    for (int t = 0; t < n; t++) {
                        int j = base + (reverse ? n - 1 - t : t) * st;
                        double v = src[so + j];
                        if (!exclusive) sum += v;
                        K.put(dst, dOff + j, (float) sum, acc);
                        if (exclusive) sum += v;
                    }
                }
            });
        }

        @Override
        public void forward(ForwardArgs a) {
            CumSum op = (CumSum) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            scan(x.data(), x.offset(), y.data(), y.offset(), Lines.of(x.shape(), op.axis()), op.exclusive(),
                    op.reverse(), false);
        }

        @Override
        public void backward(BackwardArgs a) {
            CumSum op = (CumSum) a.node().op();
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            if (K.nothingToPropagate(gy, gx, acc)) return;
            Lines l = Lines.of(a.node().inShapes().get(0), op.axis());
            float[] src = gy.data();
            int so = gy.offset();
            if (gx.sameMemory(gy)) { // a line reads elements it has written: scan a copy
                src = gy.toArray();
                so = 0;
            }
            scan(src, so, gx.data(), gx.offset(), l, op.exclusive(), !op.reverse(), acc);
        }
    }

    /**
     * The k largest (smallest) of each line by repeated selection in the order (value, then lower index first):
     * slot t takes the first element after slot t-1's in that order, so the result is sorted and deterministic and
     * needs no scratch (the CUDA kernel does the same). Backward adds each value's gradient at its index (read from
     * the saved indices output), zero elsewhere.
     */
    static final class TopKK implements CpuKernel {
        /** Whether (va, ia) comes before (vb, ib): the better value, or the lower index on a tie. */
        static boolean before(float va, int ia, float vb, int ib, boolean largest) {
            if (va != vb) return largest ? va > vb : va < vb;
            return ia < ib;
        }

        @Override
        public void forward(ForwardArgs a) {
            TopK op = (TopK) a.node().op();
            Buf x = a.in()[0], y = a.out()[0], idx = a.out()[1];
            Lines l = Lines.of(x.shape(), op.axis());
            int n = l.len(), st = l.inner(), k = op.k();
            boolean largest = op.largest();
            Par.range(l.count(), Par.grain(l.count(), (long) n * k), (s, e) -> {
                for (int line = s; line < e; line++) {
                    int base = l.start(line), outBase = line / st * k * st + line % st;
                    float pv = 0;
                    int pi = -1;
                    for (int t = 0; t < k; t++) {
                        int best = -1;
                        float bv = 0;
                        for (int j = 0; j < n; j++) {
                            float v = x.get(base + j * st);
                            if (pi >= 0 && !before(pv, pi, v, j, largest)) continue; // taken already
                            if (best < 0 || before(v, j, bv, best, largest)) {
                                best = j;
                                bv = v;
                            }
                        }
                        if (best < 0) best = pi; // NaN values compare with nothing: repeat the last
                        y.set(outBase + t * st, x.get(base + best * st));
                        idx.setLong(outBase + t * st, best);
                        pv = x.get(base + best * st);
                        pi = best;
                    }
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            TopK op = (TopK) a.node().op();
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            if (K.nothingToPropagate(gy, gx, acc)) return;
            Buf idx = a.need(a.out(), 1, "output");
            Lines l = Lines.of(a.node().inShapes().get(0), op.axis());
            int n = l.len(), st = l.inner(), k = op.k();
            Par.range(l.count(), Par.grain(l.count(), n), (s, e) -> {
                for (int line = s; line < e; line++) {
                    int base = l.start(line), outBase = line / st * k * st + line % st;
                    if (!acc) for (int j = 0; j < n; j++) gx.set(base + j * st, 0f);
                    for (int t = 0; t < k; t++) {
                        int j = (int) idx.getLong(outBase + t * st);
                        gx.set(base + j * st, gx.get(base + j * st) + gy.get(outBase + t * st));
                    }
                }
            });
        }
    }
}

package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.ReduceMean;

import java.util.Arrays;

import static memplan.backend.cpu.Broadcasting.*;

/** Kernels of the reductions. */
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
}

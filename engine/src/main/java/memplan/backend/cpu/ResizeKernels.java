package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.Flip;
import memplan.ops.Resize;

import java.util.Arrays;

/**
 * Resize (nearest, linear, cubic over 1 to 3 spatial axes) and Flip. Resize reads, per output element, the product of
 * each axis's taps ({@link Resize#taps}); backward scatters each output gradient by the same weights, one (n, c)
 * plane per task in output order, so results do not depend on the thread count.
 */
final class ResizeKernels {
    private ResizeKernels() {
    }

    /** The per-axis taps of one Resize, padded to three axes (size 1, one tap of weight 1) for one loop nest. */
    private record Plan(int planes, int[] in, int[] out, Resize.Taps[] taps) {
        static Plan of(Resize op, Shape x) {
            int sp = x.rank() - 2;
            int[] in = {1, 1, 1}, out = {1, 1, 1};
            Resize.Taps one = new Resize.Taps(1, new int[]{0}, new double[]{1});
            Resize.Taps[] t = {one, one, one};
            for (int i = 0; i < sp; i++) {
                int k = 3 - sp + i;
                in[k] = x.dim(2 + i);
                out[k] = op.sizes().get(i);
                t[k] = op.taps(i, in[k]);
            }
            return new Plan(x.dim(0) * x.dim(1), in, out, t);
        }

        int inVol() { return in[0] * in[1] * in[2]; }
        int outVol() { return out[0] * out[1] * out[2]; }
    }

    static final class ResizeK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf x = a.in()[0], y = a.out()[0];
            Plan p = Plan.of((Resize) a.node().op(), x.shape());
            float[] xd = x.data(), yd = y.data();
            Resize.Taps td = p.taps[0], th = p.taps[1], tw = p.taps[2];
            Par.range(p.planes, Par.grain(p.planes, (long) p.outVol() * 8), (s, e) -> {
                for (int pl = s; pl < e; pl++) {
                    int xb = x.offset() + pl * p.inVol(), yb = y.offset() + pl * p.outVol();
                    for (int i = 0; i < p.out[0]; i++)
                        for (int j = 0; j < p.out[1]; j++)
                            for (int l = 0; l < p.out[2]; l++) {
                                double sum = 0;
                                for (int u = 0; u < td.count(); u++) {
                                    int zd = td.idx()[i * td.count() + u];
                                    double wd = td.w()[i * td.count() + u];
                                    for (int v = 0; v < th.count(); v++) {
                                        int zh = th.idx()[j * th.count() + v];
                                        double wh = wd * th.w()[j * th.count() + v];
                                        int row = xb + (zd * p.in[1] + zh) * p.in[2];
                                        for (int t = 0; t < tw.count(); t++)
                                            sum += wh * tw.w()[l * tw.count() + t]
                                                    * xd[row + tw.idx()[l * tw.count() + t]];
                                    }
                                }
                                yd[yb + (i * p.out[1] + j) * p.out[2] + l] = (float) sum;
                            }
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            if (K.nothingToPropagate(a)) return;
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            Plan p = Plan.of((Resize) a.node().op(), gx.shape());
            float[] gxd = gx.data(), gyd = gy.data();
            Resize.Taps td = p.taps[0], th = p.taps[1], tw = p.taps[2];
            Par.range(p.planes, Par.grain(p.planes, (long) p.outVol() * 8), (s, e) -> {
                double[] sum = new double[p.inVol()];
                for (int pl = s; pl < e; pl++) {
                    Arrays.fill(sum, 0);
                    int xb = gx.offset() + pl * p.inVol(), yb = gy.offset() + pl * p.outVol();
                    for (int i = 0; i < p.out[0]; i++)
                        for (int j = 0; j < p.out[1]; j++)
                            for (int l = 0; l < p.out[2]; l++) {
                                double g = gyd[yb + (i * p.out[1] + j) * p.out[2] + l];
                                for (int u = 0; u < td.count(); u++) {
                                    int zd = td.idx()[i * td.count() + u];
                                    double wd = g * td.w()[i * td.count() + u];
                                    for (int v = 0; v < th.count(); v++) {
                                        int zh = th.idx()[j * th.count() + v];
                                        double wh = wd * th.w()[j * th.count() + v];
                                        int row = (zd * p.in[1] + zh) * p.in[2];
                                        for (int t = 0; t < tw.count(); t++)
                                            sum[row + tw.idx()[l * tw.count() + t]] += wh * tw.w()[l * tw.count() + t];
                                    }
                                }
                            }
                    for (int q = 0; q < sum.length; q++) K.put(gxd, xb + q, (float) sum[q], acc);
                }
            });
        }
    }

    /** y = x reversed along the flipped axes; backward is the same permutation of the gradient. */
    static final class FlipK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            flip((Flip) a.node().op(), a.in()[0], a.out()[0], false);
        }

        @Override
        public void backward(BackwardArgs a) {
            if (K.nothingToPropagate(a)) return;
            flip((Flip) a.node().op(), a.gradOut(0), a.gradIn(0), a.accIn(0));
        }

        /** dst[i] (+)= src[flipped i]; a permutation, so the walk over dst is split freely. */
        private static void flip(Flip op, Buf src, Buf dst, boolean acc) {
            Shape s = src.shape();
            int r = s.rank(), n = src.numel();
            int width = n == 0 ? 1 : src.slots() / n;
            if (width * n != src.slots() || width > 2)
                throw K.bad("Flip", "input", "elements of " + src.dtype() + " are not supported");
            int[] dims = s.dims();
            boolean[] f = new boolean[r];
            for (int d = 0; d < r; d++) f[d] = op.flips(d, r);
            float[] sd = src.data(), dd = dst.data();
            int so = src.offset(), doff = dst.offset();
            Par.range(n, K.GRAIN / 4, (b, e) -> {
                for (int i = b; i < e; i++) {
                    int t = i, j = 0, st = 1;
                    for (int d = r - 1; d >= 0; d--) {
                        int c = t % dims[d];
                        t /= dims[d];
                        j += (f[d] ? dims[d] - 1 - c : c) * st;
                        st *= dims[d];
                    }
                    for (int w = 0; w < width; w++)
                        K.put(dd, doff + i * width + w, sd[so + j * width + w], acc);
                }
            });
        }
    }
}

package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.AvgPool2d;
import memplan.ops.MaxPool2d;
import memplan.ops.Upsample;

import java.util.Arrays;

/** MaxPool2d, AvgPool2d, GlobalAvgPool and nearest Upsample over [N, C, H, W]. Parallel over (n, c) planes. */
final class PoolKernels {
    private PoolKernels() {
    }

    /**
     * Max pooling; aux[0] = int64 argmax per output, the flat index h*W + w in the input plane (PyTorch's
     * convention; the first maximum wins, padding never does). Backward reads only the indices and the shapes,
     * never the input's values.
     */
    static final class MaxPoolK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            MaxPool2d op = (MaxPool2d) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            Buf idx = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            int[] xs = x.shape().dims(), ys = y.shape().dims();
            int h = xs[2], w = xs[3], oh = ys[2], ow = ys[3];
            int kh = op.kernel().h(), kw = op.kernel().w(), sh = op.stride().h(), sw = op.stride().w();
            int ph = op.padding().h(), pw = op.padding().w();
            float[] xd = x.data(), yd = y.data();
            int planes = xs[0] * xs[1];
            // output columns whose windows lie inside the row: they take the branch-free path below
            int jLo = (pw + sw - 1) / sw, jHi = w - kw + pw >= 0 ? Math.min(ow, (w - kw + pw) / sw + 1) : 0;
            Par.range(planes, Par.grain(planes, (long) oh * ow * kh * kw), (s, e) -> {
                long[] best = new long[ow];
                for (int p = s; p < e; p++) {
                    int xb = x.offset() + p * h * w, yb = p * oh * ow;
                    for (int i = 0; i < oh; i++) {
                        // the window's rows inside the plane, so no per-element bounds test
                        int h0 = i * sh - ph, u0 = Math.max(0, -h0), u1 = Math.min(kh, h - h0);
                        boolean inner = u1 > u0 && jLo < jHi;
                        int from = inner ? jLo : ow, to = inner ? jHi : ow;
                        if (from < to) {
                            // one compare-and-keep per element, in window order over a whole output row at once
                            Arrays.fill(best, from, to, Long.MIN_VALUE);
                            for (int u = u0; u < u1; u++)
                                for (int v = 0; v < kw; v++) {
                                    int rel = (h0 + u) * w + v - pw, at = xb + rel;
                                    for (int j = from; j < to; j++)
                                        best[j] = Math.max(best[j], key(xd[at + j * sw], rel + j * sw));
                                }
                            for (int j = from; j < to; j++) {
                                int arg = (int) (Integer.MAX_VALUE - (best[j] & 0xffffffffL));
                                yd[y.offset() + yb + i * ow + j] = xd[xb + arg];
                                if (idx != null) idx.setLong(yb + i * ow + j, arg);
                            }
                        }
                        for (int j = 0; j < ow; j++) {
                            if (j == from) j = to;
                            if (j >= ow) break;
                            int w0 = j * sw - pw, v0 = Math.max(0, -w0), v1 = Math.min(kw, w - w0);
                            float top = Float.NEGATIVE_INFINITY;
                            int arg = -1;
                            for (int u = u0; u < u1; u++)
                                for (int v = v0; v < v1; v++) {
                                    int at = (h0 + u) * w + w0 + v;
                                    float val = xd[xb + at];
                                    if (arg < 0 || val > top || val != val && top == top) {
                                        top = val;
                                        arg = at;
                                    }
                                }
                            yd[y.offset() + yb + i * ow + j] = top;
                            if (idx != null) idx.setLong(yb + i * ow + j, arg);
                        }
                    }
                }
            });
        }

        /**
         * A window element as one long whose maximum is the element PyTorch's compare-and-keep loop keeps (the
         * first of the largest; the first NaN before any number): the value's order in the high half (zeros of
         * either sign alike, every NaN above +inf), and the earlier flat index the larger in the low half.
         * {@code Math.max} of longs needs no branch, where comparing floats mispredicted on activations and
         * made MaxPool the slowest op per byte in ResNet-18 (a 112x112 plane pooled 2x faster this way).
         */
        private static long key(float v, int flat) {
            int b = Float.floatToIntBits(v + 0f);
            return ((long) (b ^ ((b >> 31) & Integer.MAX_VALUE)) << 32) | (Integer.MAX_VALUE - flat);
        }

        @Override
        public void backward(BackwardArgs a) {
            scatterToArgmax(a, "MaxPool2d", "plane");
        }
    }

    /**
     * Max pooling's backward of any rank: each output gradient goes to the input element its window's argmax (the
     * saved int64 index within one [N, C] plane or volume) names.
     */
    static void scatterToArgmax(BackwardArgs a, String op, String region) {
        Buf gx = a.gradIn(0);
        if (gx == null) return;
        if (!a.accIn(0)) K.zero(gx);
        Buf gy = a.gradOut(0);
        if (gy == null) return;
        Buf idx = a.need(a.aux(), 0, "aux (indices)");
        int[] xs = gx.shape().dims();
        int planes = xs[0] * xs[1];
        int hw = gx.numel() / planes, ohw = gy.numel() / planes;
        float[] gxd = gx.data(), gyd = gy.data();
        Par.range(planes, Par.grain(planes, ohw), (s, e) -> {
            for (int p = s; p < e; p++) {
                int xb = gx.offset() + p * hw, yb = p * ohw;
                for (int o = 0; o < ohw; o++) {
                    long k = idx.getLong(yb + o);
                    if (k < 0 || k >= hw) throw new IllegalStateException(op + " '" + a.node().name()
                            + "': argmax index " + k + " outside the input " + region + " of " + hw + " elements");
                    gxd[xb + (int) k] += gyd[gy.offset() + yb + o];
                }
            }
        });
    }

    /** Average pooling; padding counts as zeros, so every window divides by kh*kw. */
    static final class AvgPoolK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            AvgPool2d op = (AvgPool2d) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            int[] xs = x.shape().dims(), ys = y.shape().dims();
            int h = xs[2], w = xs[3], oh = ys[2], ow = ys[3];
            int kh = op.kernel().h(), kw = op.kernel().w(), sh = op.stride().h(), sw = op.stride().w();
            int ph = op.padding().h(), pw = op.padding().w();
            float inv = 1f / (kh * kw);
            float[] xd = x.data(), yd = y.data();
            int planes = xs[0] * xs[1];
            Par.range(planes, Par.grain(planes, (long) oh * ow * kh * kw), (s, e) -> {
                for (int p = s; p < e; p++) {
                    int xb = x.offset() + p * h * w, yb = y.offset() + p * oh * ow;
                    for (int i = 0; i < oh; i++)
                        for (int j = 0; j < ow; j++) {
                            float sum = 0f;
                            for (int u = 0; u < kh; u++) {
                                int hi = i * sh - ph + u;
                                if (hi < 0 || hi >= h) continue;
                                for (int v = 0; v < kw; v++) {
                                    int wi = j * sw - pw + v;
                                    if (wi >= 0 && wi < w) sum += xd[xb + hi * w + wi];
                                }
                            }
                            yd[yb + i * ow + j] = sum * inv;
                        }
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gx = a.gradIn(0);
            if (gx == null) return;
            if (!a.accIn(0)) K.zero(gx);
            Buf gy = a.gradOut(0);
            if (gy == null) return;
            AvgPool2d op = (AvgPool2d) a.node().op();
            int[] xs = gx.shape().dims(), ys = gy.shape().dims();
            int h = xs[2], w = xs[3], oh = ys[2], ow = ys[3];
            int kh = op.kernel().h(), kw = op.kernel().w(), sh = op.stride().h(), sw = op.stride().w();
            int ph = op.padding().h(), pw = op.padding().w();
            float inv = 1f / (kh * kw);
            float[] gxd = gx.data(), gyd = gy.data();
            int planes = xs[0] * xs[1];
            Par.range(planes, Par.grain(planes, (long) oh * ow * kh * kw), (s, e) -> {
                for (int p = s; p < e; p++) {
                    int xb = gx.offset() + p * h * w, yb = gy.offset() + p * oh * ow;
                    for (int i = 0; i < oh; i++)
                        for (int j = 0; j < ow; j++) {
                            float g = gyd[yb + i * ow + j] * inv;
                            for (int u = 0; u < kh; u++) {
                                int hi = i * sh - ph + u;
                                if (hi < 0 || hi >= h) continue;
                                for (int v = 0; v < kw; v++) {
                                    int wi = j * sw - pw + v;
                                    if (wi >= 0 && wi < w) gxd[xb + hi * w + wi] += g;
                                }
                            }
                        }
                }
            });
        }
    }

    /** Mean over H and W. */
    static final class GlobalAvgPoolK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf x = a.in()[0], y = a.out()[0];
            Shape s = x.shape();
            int planes = s.dim(0) * s.dim(1), hw = s.dim(2) * s.dim(3);
            float[] xd = x.data(), yd = y.data();
            Par.range(planes, Par.grain(planes, hw), (b, e) -> {
                for (int p = b; p < e; p++) {
                    double sum = 0;
                    int xb = x.offset() + p * hw;
                    for (int i = 0; i < hw; i++) sum += xd[xb + i];
                    yd[y.offset() + p] = (float) (sum / hw);
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            if (K.nothingToPropagate(a)) return;
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            Shape s = gx.shape();
            int planes = s.dim(0) * s.dim(1), hw = s.dim(2) * s.dim(3);
            float[] gxd = gx.data();
            Par.range(planes, Par.grain(planes, hw), (b, e) -> {
                for (int p = b; p < e; p++) {
                    float g = gy.get(p) / hw;
                    int xb = gx.offset() + p * hw;
                    for (int i = 0; i < hw; i++) K.put(gxd, xb + i, g, acc);
                }
            });
        }
    }

    /** Nearest upsampling by an integer factor; backward sums each scale x scale block in row-major order. */
    static final class UpsampleK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            int sc = ((Upsample) a.node().op()).scale();
            Buf x = a.in()[0], y = a.out()[0];
            int[] xs = x.shape().dims();
            int h = xs[2], w = xs[3], oh = h * sc, ow = w * sc, planes = xs[0] * xs[1];
            float[] xd = x.data(), yd = y.data();
            Par.range(planes, Par.grain(planes, (long) oh * ow), (s, e) -> {
                for (int p = s; p < e; p++) {
                    int xb = x.offset() + p * h * w, yb = y.offset() + p * oh * ow;
                    for (int i = 0; i < oh; i++)
                        for (int j = 0; j < ow; j++) yd[yb + i * ow + j] = xd[xb + (i / sc) * w + j / sc];
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            if (K.nothingToPropagate(a)) return;
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            int sc = ((Upsample) a.node().op()).scale();
            int[] xs = gx.shape().dims();
            int h = xs[2], w = xs[3], oh = h * sc, ow = w * sc, planes = xs[0] * xs[1];
            float[] gxd = gx.data(), gyd = gy.data();
            Par.range(planes, Par.grain(planes, (long) oh * ow), (s, e) -> {
                for (int p = s; p < e; p++) {
                    int xb = gx.offset() + p * h * w, yb = gy.offset() + p * oh * ow;
                    for (int i = 0; i < h; i++)
                        for (int j = 0; j < w; j++) {
                            float sum = 0f;
                            for (int u = 0; u < sc; u++)
                                for (int v = 0; v < sc; v++) sum += gyd[yb + (i * sc + u) * ow + j * sc + v];
                            K.put(gxd, xb + i * w + j, sum, acc);
                        }
                }
            });
        }
    }
}

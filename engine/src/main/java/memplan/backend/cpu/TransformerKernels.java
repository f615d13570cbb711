package memplan.backend.cpu;

import memplan.ops.GatedActivation;
import memplan.ops.RMSNorm;
import memplan.ops.RotaryEmbedding;

/** The parts of Llama-style blocks besides attention: RMSNorm, the gated MLP activation and rotary embeddings. */
final class TransformerKernels {
    private TransformerKernels() {
    }

    /**
     * x * rstd * weight per row, rstd = 1 / sqrt(mean(x^2) + eps) summed in double; aux: rstd (fp32), x * rstd and
     * x^2 (which PyTorch keeps and this backward does not read).
     */
    static final class RMSNormK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            double eps = ((RMSNorm) a.node().op()).eps();
            Buf x = a.in()[0], y = a.out()[0], w = a.params()[0];
            Buf rstd = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            Buf xn = a.aux() != null && a.aux().length > 1 ? a.aux()[1] : null;
            Buf sqr = a.aux() != null && a.aux().length > 2 ? a.aux()[2] : null;
            int d = x.shape().dim(-1), rows = x.numel() / Math.max(1, d);
            float[] xd = x.data(), yd = y.data(), wd = w.data();
            Par.range(rows, Par.grain(rows, 3L * d), (s, e) -> {
                for (int r = s; r < e; r++) {
                    int xb = x.offset() + r * d, yb = y.offset() + r * d;
                    double sq = 0;
                    for (int j = 0; j < d; j++) {
                        float x2 = xd[xb + j] * xd[xb + j];
                        if (sqr != null) sqr.data()[sqr.offset() + r * d + j] = x2;
                        sq += x2;
                    }
                    float rs = (float) (1.0 / Math.sqrt(sq / d + eps));
                    if (rstd != null) rstd.set(r, rs);
                    for (int j = 0; j < d; j++) {
                        float h = xd[xb + j] * rs;
                        if (xn != null) xn.data()[xn.offset() + r * d + j] = h;
                        yd[yb + j] = h * wd[w.offset() + j];
                    }
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gx = a.gradIn(0), gw = a.gradParam(0), gy = a.gradOut(0);
            int d = a.node().inShapes().get(0).dim(-1);
            int rows = (int) (a.node().inShapes().get(0).numel() / Math.max(1, d));
            if (K.zeroWithoutGradient(a, gy, gx, gw, null)) return;
            if (gw != null) {
                // the normalised x is kept for the weight's gradient only (a frozen input keeps nothing else)
                Buf xn = a.need(a.aux(), 1, "aux");
                float[] gyd = gy.data(), hd = xn.data();
                // parallel over columns; rows summed in order
                Par.range(d, Math.max(16, Par.grain(d, rows)), (s, e) -> {
                    double[] sw = new double[e - s];
                    for (int r = 0; r < rows; r++) {
                        int hb = xn.offset() + r * d, yb = gy.offset() + r * d;
                        for (int j = s; j < e; j++) sw[j - s] += gyd[yb + j] * hd[hb + j];
                    }
                    for (int j = s; j < e; j++) K.put(gw.data(), gw.offset() + j, (float) sw[j - s], a.accParam(0));
                });
            }
            if (gx == null) return;
            // a frozen weight keeps no normalised x: x * rstd again, the same float product as the forward's
            Buf x = a.need(a.in(), 0, "input"), w = a.need(a.params(), 0, "param");
            Buf rstd = a.need(a.aux(), 0, "aux");
            Buf xn = a.aux() != null && a.aux().length > 1 ? a.aux()[1] : null;
            float[] xd = x.data(), gyd = gy.data(), wd = w.data(), hd = xn == null ? null : xn.data();
            boolean acc = a.accIn(0);
            float[] gxd = gx.data();
            Par.range(rows, Par.grain(rows, 4L * d), (s, e) -> {
                float[] h = new float[d];
                for (int r = s; r < e; r++) {
                    float rs = rstd.get(r);
                    int xb = x.offset() + r * d, yb = gy.offset() + r * d, ob = gx.offset() + r * d;
                    if (hd != null) System.arraycopy(hd, xn.offset() + r * d, h, 0, d);
                    else for (int j = 0; j < d; j++) h[j] = xd[xb + j] * rs;
                    double dot = 0;   // sum_j (gy_j w_j) * xhat_j
                    for (int j = 0; j < d; j++) dot += gyd[yb + j] * wd[w.offset() + j] * h[j];
                    float m = (float) (dot / d);
                    for (int j = 0; j < d; j++) {
                        float gh = gyd[yb + j] * wd[w.offset() + j];
                        K.put(gxd, ob + j, rs * (gh - h[j] * m), acc);
                    }
                }
            });
        }
    }

    /** act(gate) * up; aux: act(gate). Backward: d up = gy act(gate), d gate = gy up act'(gate). */
    static final class GatedActivationK implements CpuKernel {
        private static float act(GatedActivation.Gate g, float x) {
            return switch (g) {
                case SILU -> (float) (x / (1 + Math.exp(-x)));
                case GELU -> PointwiseKernels.Smooth.apply(PointwiseKernels.Fn.GELU, x);
            };
        }

        private static float deriv(GatedActivation.Gate g, float x) {
            return switch (g) {
                case SILU -> {
                    double s = 1 / (1 + Math.exp(-x));
                    yield (float) (s * (1 + x * (1 - s)));
                }
                case GELU -> PointwiseKernels.Smooth.deriv(PointwiseKernels.Fn.GELU, x);
            };
        }

        @Override
        public void forward(ForwardArgs a) {
            GatedActivation.Gate g = ((GatedActivation) a.node().op()).gate();
            Buf gate = a.in()[0], up = a.in()[1], y = a.out()[0];
            Buf act = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            float[] gd = gate.data(), ud = up.data(), yd = y.data();
            int go = gate.offset(), uo = up.offset(), yo = y.offset();
            Par.range(y.numel(), K.GRAIN / 8, (s, e) -> {
                for (int i = s; i < e; i++) {
                    float v = act(g, gd[go + i]);
                    if (act != null) act.data()[act.offset() + i] = v;
                    yd[yo + i] = v * ud[uo + i];
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            GatedActivation.Gate g = ((GatedActivation) a.node().op()).gate();
            Buf gy = a.gradOut(0), gg = a.gradIn(0), gu = a.gradIn(1);
            boolean noGate = K.nothingToPropagate(gy, gg, a.accIn(0));
            boolean noUp = K.nothingToPropagate(gy, gu, a.accIn(1));
            if (noGate && noUp) return;
            Buf gate = a.need(a.in(), 0, "input"), up = a.need(a.in(), 1, "input");
            Buf act = a.need(a.aux(), 0, "aux");
            float[] gd = gate.data(), ud = up.data(), ad = act.data(), gyd = gy.data();
            int go = gate.offset(), uo = up.offset(), ao = act.offset(), yo = gy.offset();
            boolean accG = a.accIn(0), accU = a.accIn(1);
            Par.range(gy.numel(), K.GRAIN / 8, (s, e) -> {
                for (int i = s; i < e; i++) {
                    float dy = gyd[yo + i];
                    if (!noUp) K.put(gu.data(), gu.offset() + i, dy * ad[ao + i], accU);
                    if (!noGate) K.put(gg.data(), gg.offset() + i, dy * ud[uo + i] * deriv(g, gd[go + i]), accG);
                }
            });
        }
    }

    /** Rotate-half rotary embedding per head of x [N, T, W]; the angles depend on the position t only. */
    static final class RotaryK implements CpuKernel {
        /** cos and sin of every (position, pair), computed in double as the CUDA kernel does. */
        private static float[][] tables(RotaryEmbedding op, int t) {
            int half = op.headDim() / 2;
            float[] c = new float[t * half], sn = new float[t * half];
            for (int p = 0; p < t; p++)
                for (int i = 0; i < half; i++) {
                    double ang = op.angle(p, i);
                    c[p * half + i] = (float) Math.cos(ang);
                    sn[p * half + i] = (float) Math.sin(ang);
                }
            return new float[][] {c, sn};
        }

        /** y = rotate(x) with sign +1 (forward) or its transpose with sign -1 (backward of a gradient). */
        private static void rotate(RotaryEmbedding op, Buf x, Buf y, int sign, boolean acc) {
            int n = x.shape().dim(0), t = x.shape().dim(1), w = x.shape().dim(2);
            int dh = op.headDim(), half = dh / 2, heads = w / dh;
            float[][] cs = tables(op, t);
            float[] xd = x.data(), yd = y.data();
            Par.range(n * t, Par.grain((long) n * t, w), (s, e) -> {
                for (int row = s; row < e; row++) {
                    int p = row % t;
                    for (int h = 0; h < heads; h++) {
                        int xb = x.offset() + row * w + h * dh, yb = y.offset() + row * w + h * dh;
                        for (int i = 0; i < half; i++) {
                            float c = cs[0][p * half + i], sn = sign * cs[1][p * half + i];
                            float x1 = xd[xb + i], x2 = xd[xb + i + half];
                            K.put(yd, yb + i, x1 * c - x2 * sn, acc);
                            K.put(yd, yb + i + half, x2 * c + x1 * sn, acc);
                        }
                    }
                }
            });
        }

        @Override
        public void forward(ForwardArgs a) {
            rotate((RotaryEmbedding) a.node().op(), a.in()[0], a.out()[0], 1, false);
        }

        @Override
        public void backward(BackwardArgs a) {
            if (K.nothingToPropagate(a)) return;
            rotate((RotaryEmbedding) a.node().op(), a.gradOut(0), a.gradIn(0), -1, a.accIn(0));
        }
    }
}

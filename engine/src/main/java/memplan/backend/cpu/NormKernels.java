package memplan.backend.cpu;

import memplan.ops.BatchNorm2d;
import memplan.ops.LayerNorm;

/** BatchNorm2d, LayerNorm and Softmax. Statistics are summed in double, in a fixed order. */
final class NormKernels {
    private NormKernels() {
    }

    /**
     * Batch normalisation over [N, C, H, W]. params: weight, bias, running_mean, running_var; aux: batch mean and
     * invstd (fp32). Training: normalises with the batch statistics (biased variance) and, unless recomputing,
     * updates the running statistics as PyTorch does (unbiased variance, momentum). Not training: uses the running
     * statistics (aux gets them too). Backward assumes training mode.
     */
    static final class BatchNormK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            BatchNorm2d op = (BatchNorm2d) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            Buf w = a.params()[0], b = a.params()[1], rm = a.params()[2], rv = a.params()[3];
            Buf mean = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            Buf invstd = a.aux() != null && a.aux().length > 1 ? a.aux()[1] : null;
            int[] s = x.shape().dims();
            int n = s[0], c = s[1], hw = s[2] * s[3];
            long cnt = (long) n * hw;
            float[] xd = x.data(), yd = y.data();
            boolean train = a.training(), update = a.training() && !a.recompute();
            double mom = op.momentum();
            Par.range(c, Par.grain(c, 3 * cnt), (cs, ce) -> {
                for (int ch = cs; ch < ce; ch++) {
                    float mu, is;
                    if (train) {
                        // the sums of x and of x^2 in one pass over the channel (in double, as PyTorch sums them)
                        double[] acc = new double[2];
                        for (int i = 0; i < n; i++) sumAndSquares(xd, x.offset() + (i * c + ch) * hw, hw, acc);
                        double m = acc[0] / cnt, sq = Math.max(0, acc[1] - acc[0] * m);
                        double var = sq / cnt;
                        mu = (float) m;
                        is = (float) (1.0 / Math.sqrt(var + op.eps()));
                        if (update) {
                            double unbiased = cnt > 1 ? sq / (cnt - 1) : var;
                            rm.set(ch, (float) ((1 - mom) * rm.get(ch) + mom * m));
                            rv.set(ch, (float) ((1 - mom) * rv.get(ch) + mom * unbiased));
                        }
                    } else {
                        mu = rm.get(ch);
                        is = (float) (1.0 / Math.sqrt(rv.get(ch) + op.eps()));
                    }
                    if (mean != null) mean.set(ch, mu);
                    if (invstd != null) invstd.set(ch, is);
                    float sc = is * w.get(ch), sh = b.get(ch);
                    float m0 = mu;
                    Chunks.Loop norm = (u, v, w2, len) -> {
                        for (int k = 0; k < len; k++) u[k] = (u[k] - m0) * sc + sh;
                    };
                    for (int i = 0; i < n; i++) {
                        int xb = x.offset() + (i * c + ch) * hw, yb = y.offset() + (i * c + ch) * hw;
                        Chunks.map(yd, yb, xd, xb, null, 0, null, 0, 0, hw, norm);
                    }
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gx = a.gradIn(0), gw = a.gradParam(0), gb = a.gradParam(1), gy = a.gradOut(0);
            int[] s = a.node().inShapes().get(0).dims();
            int n = s[0], c = s[1], hw = s[2] * s[3];
            long cnt = (long) n * hw;
            if (K.zeroWithoutGradient(a, gy, gx, gw, gb)) return;
            Buf x = a.need(a.in(), 0, "input"), w = a.need(a.params(), 0, "param");
            Buf mean = a.need(a.aux(), 0, "aux"), invstd = a.need(a.aux(), 1, "aux");
            float[] xd = x.data(), gyd = gy.data();
            Par.range(c, Par.grain(c, 3 * cnt), (cs, ce) -> {
                for (int ch = cs; ch < ce; ch++) {
                    float mu = mean.get(ch), is = invstd.get(ch);
                    double[] sums = new double[2];
                    for (int i = 0; i < n; i++)
                        gradientSums(gyd, gy.offset() + (i * c + ch) * hw, xd, x.offset() + (i * c + ch) * hw, hw,
                                mu, is, sums);
                    double sg = sums[0], sgx = sums[1];
                    if (gb != null) K.put(gb.data(), gb.offset() + ch, (float) sg, a.accParam(1));
                    if (gw != null) K.put(gw.data(), gw.offset() + ch, (float) sgx, a.accParam(0));
                    if (gx != null) {
                        float k = (float) (w.get(ch) * is / cnt), mg = (float) sg, mgx = (float) sgx;
                        boolean acc = a.accIn(0);
                        float[] gxd = gx.data();
                        // the accumulate test outside the loop, so each loop vectorises
                        Chunks.Loop grad = acc ? (u, v, w2, len) -> {
                            for (int q = 0; q < len; q++) u[q] += k * (cnt * v[q] - mg - (w2[q] - mu) * is * mgx);
                        } : (u, v, w2, len) -> {
                            for (int q = 0; q < len; q++) u[q] = k * (cnt * v[q] - mg - (w2[q] - mu) * is * mgx);
                        };
                        for (int i = 0; i < n; i++) {
                            int xb = x.offset() + (i * c + ch) * hw, yb = gy.offset() + (i * c + ch) * hw;
                            int gb2 = gx.offset() + (i * c + ch) * hw;
                            Chunks.map(gxd, gb2, acc ? gxd : null, gb2, gyd, yb, xd, xb, 0, hw, grad);
                        }
                    }
                }
            });
        }
    }

    /*
     * The per-channel sums below keep eight partial sums of each kind (element p goes to sum p mod 8) added in a
     * fixed order at the end: one running double sum is a chain of dependent adds; eight chains hide the adder's
     * latency (four still waited on it: 0.72-0.79 ns per element against 0.35-0.53 with eight, one thread,
     * 3136-element runs). Both kinds in one pass: a pass per kind read each plane twice (1.26 ns per element for
     * the two against 0.87 in one, one thread, 3136-element planes). The order depends only on the length, so
     * results stay deterministic and independent of the threads.
     */

    /** Adds the sum of d[at, at + len) to acc[0] and the sum of its squares to acc[1], both in double. */
    static void sumAndSquares(float[] d, int at, int len, double[] acc) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        double q0 = 0, q1 = 0, q2 = 0, q3 = 0, q4 = 0, q5 = 0, q6 = 0, q7 = 0;
        int p = 0;
        for (; p + 7 < len; p += 8) {
            int q = at + p;
            double a0 = d[q], a1 = d[q + 1], a2 = d[q + 2], a3 = d[q + 3];
            double a4 = d[q + 4], a5 = d[q + 5], a6 = d[q + 6], a7 = d[q + 7];
            s0 += a0;
            s1 += a1;
            s2 += a2;
            s3 += a3;
            s4 += a4;
            s5 += a5;
            s6 += a6;
            s7 += a7;
            q0 += a0 * a0;
            q1 += a1 * a1;
            q2 += a2 * a2;
            q3 += a3 * a3;
            q4 += a4 * a4;
            q5 += a5 * a5;
            q6 += a6 * a6;
            q7 += a7 * a7;
        }
        for (; p < len; p++) {
            double a = d[at + p];
            s0 += a;
            q0 += a * a;
        }
        acc[0] += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        acc[1] += ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7));
    }

    /**
     * Adds the sum of g to acc[0] and the sum of g[i] * ((x[i] - mu) * is) (the product in float) to acc[1], both
     * in double, over len elements.
     */
    static void gradientSums(float[] g, int gAt, float[] x, int xAt, int len, float mu, float is, double[] acc) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        double t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
        int p = 0;
        for (; p + 7 < len; p += 8) {
            int gq = gAt + p, xq = xAt + p;
            float g0 = g[gq], g1 = g[gq + 1], g2 = g[gq + 2], g3 = g[gq + 3];
            float g4 = g[gq + 4], g5 = g[gq + 5], g6 = g[gq + 6], g7 = g[gq + 7];
            s0 += g0;
            s1 += g1;
            s2 += g2;
            s3 += g3;
            s4 += g4;
            s5 += g5;
            s6 += g6;
            s7 += g7;
            t0 += g0 * ((x[xq] - mu) * is);
            t1 += g1 * ((x[xq + 1] - mu) * is);
            t2 += g2 * ((x[xq + 2] - mu) * is);
            t3 += g3 * ((x[xq + 3] - mu) * is);
            t4 += g4 * ((x[xq + 4] - mu) * is);
            t5 += g5 * ((x[xq + 5] - mu) * is);
            t6 += g6 * ((x[xq + 6] - mu) * is);
            t7 += g7 * ((x[xq + 7] - mu) * is);
        }
        for (; p < len; p++) {
            s0 += g[gAt + p];
            t0 += g[gAt + p] * ((x[xAt + p] - mu) * is);
        }
        acc[0] += ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        acc[1] += ((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7));
    }

    static final class LayerNormK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            double eps = ((LayerNorm) a.node().op()).eps();
            Buf x = a.in()[0], y = a.out()[0], w = a.params()[0], b = a.params()[1];
            Buf mean = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            Buf rstd = a.aux() != null && a.aux().length > 1 ? a.aux()[1] : null;
            int d = x.shape().dim(-1), rows = x.numel() / Math.max(1, d);
            float[] xd = x.data(), yd = y.data(), wd = w.data(), bd = b.data();
            Par.range(rows, Par.grain(rows, 4L * d), (s, e) -> {
                for (int r = s; r < e; r++) {
                    int xb = x.offset() + r * d, yb = y.offset() + r * d;
                    double sum = 0, sq = 0;
                    for (int j = 0; j < d; j++) sum += xd[xb + j];
                    double m = sum / d;
                    for (int j = 0; j < d; j++) {
                        double t = xd[xb + j] - m;
                        sq += t * t;
                    }
                    float mu = (float) m, rs = (float) (1.0 / Math.sqrt(sq / d + eps));
                    if (mean != null) mean.set(r, mu);
                    if (rstd != null) rstd.set(r, rs);
                    for (int j = 0; j < d; j++) yd[yb + j] = (xd[xb + j] - mu) * rs * wd[w.offset()
                            + j] + bd[b.offset() + j];
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gx = a.gradIn(0), gw = a.gradParam(0), gb = a.gradParam(1), gy = a.gradOut(0);
            int d = a.node().inShapes().get(0).dim(-1);
            int rows = (int) (a.node().inShapes().get(0).numel() / Math.max(1, d));
            if (K.zeroWithoutGradient(a, gy, gx, gw, gb)) return;
            Buf x = a.need(a.in(), 0, "input"), w = a.need(a.params(), 0, "param");
            Buf mean = a.need(a.aux(), 0, "aux"), rstd = a.need(a.aux(), 1, "aux");
            float[] xd = x.data(), gyd = gy.data(), wd = w.data();
            if (gw != null || gb != null) {
                // parallel over columns; rows summed in order
                Par.range(d, Math.max(16, Par.grain(d, rows)), (s, e) -> {
                    double[] sw = new double[e - s], sb = new double[e - s];
                    for (int r = 0; r < rows; r++) {
                        float mu = mean.get(r), rs = rstd.get(r);
                        int xb = x.offset() + r * d, yb = gy.offset() + r * d;
                        for (int j = s; j < e; j++) {
                            float g = gyd[yb + j];
                            sb[j - s] += g;
                            sw[j - s] += g * ((xd[xb + j] - mu) * rs);
                        }
                    }
                    for (int j = s; j < e; j++) {
                        if (gw != null) K.put(gw.data(), gw.offset() + j, (float) sw[j - s], a.accParam(0));
                        if (gb != null) K.put(gb.data(), gb.offset() + j, (float) sb[j - s], a.accParam(1));
                    }
                });
            }
            if (gx != null) {
                boolean acc = a.accIn(0);
                float[] gxd = gx.data();
                Par.range(rows, Par.grain(rows, 4L * d), (s, e) -> {
                    for (int r = s; r < e; r++) {
                        float mu = mean.get(r), rs = rstd.get(r);
                        int xb = x.offset() + r * d, yb = gy.offset() + r * d, ob = gx.offset() + r * d;
                        double s1 = 0, s2 = 0;
                        for (int j = 0; j < d; j++) {
                            float gh = gyd[yb + j] * wd[w.offset() + j];
                            s1 += gh;
                            s2 += gh * ((xd[xb + j] - mu) * rs);
                        }
                        float m1 = (float) (s1 / d), m2 = (float) (s2 / d);
                        for (int j = 0; j < d; j++) {
                            float gh = gyd[yb + j] * wd[w.offset() + j];
                            float xh = (xd[xb + j] - mu) * rs;
                            K.put(gxd, ob + j, rs * (gh - m1 - xh * m2), acc);
                        }
                    }
                });
            }
        }
    }

    /** Softmax along the last axis; backward from the output: gx = y (gy - sum(gy y)). */
    static final class SoftmaxK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf x = a.in()[0], y = a.out()[0];
            int d = x.shape().dim(-1), rows = x.numel() / Math.max(1, d);
            float[] xd = x.data(), yd = y.data();
            Par.range(rows, Par.grain(rows, 8L * d), (s, e) -> {
                for (int r = s; r < e; r++) softmaxRow(xd, x.offset() + r * d, yd, y.offset() + r * d, d);
            });
        }

        static void softmaxRow(float[] xd, int xb, float[] yd, int yb, int d) {
            float mx = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < d; j++) mx = Math.max(mx, xd[xb + j]);
            double sum = 0;
            for (int j = 0; j < d; j++) {
                float ev = (float) Math.exp(xd[xb + j] - mx);
                yd[yb + j] = ev;
                sum += ev;
            }
            float inv = (float) (1.0 / sum);
            for (int j = 0; j < d; j++) yd[yb + j] *= inv;
        }

        @Override
        public void backward(BackwardArgs a) {
            if (K.nothingToPropagate(a)) return;
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            Buf y = a.need(a.out(), 0, "output");
            int d = gx.shape().dim(-1), rows = gx.numel() / Math.max(1, d);
            float[] yd = y.data(), gyd = gy.data(), gxd = gx.data();
            Par.range(rows, Par.grain(rows, 4L * d), (s, e) -> {
                for (int r = s; r < e; r++) {
                    int yb = y.offset() + r * d, gb = gy.offset() + r * d, xb = gx.offset() + r * d;
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += gyd[gb + j] * yd[yb + j];
                    float dt = (float) dot;
                    for (int j = 0; j < d; j++) K.put(gxd, xb + j, yd[yb + j] * (gyd[gb + j] - dt), acc);
                }
            });
        }
    }
}

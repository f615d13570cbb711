package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Attention;
import memplan.ops.CrossEntropy;
import memplan.ops.Embedding;
import memplan.ops.LSTMCell;

/** Embedding, Attention, LSTMCell, CrossEntropy and MseLoss. */
final class SequenceKernels {
    private SequenceKernels() {
    }

    /** Table lookup of int64 (or int32) indices; gradient only for the weight (rows summed in index order). */
    static final class EmbeddingK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Embedding op = (Embedding) a.node().op();
            Buf idx = a.in()[0], y = a.out()[0], w = a.params()[0];
            int d = op.dim(), n = idx.numel();
            float[] wd = w.data(), yd = y.data();
            Par.range(n, Par.grain(n, d), (s, e) -> {
                for (int i = s; i < e; i++) {
                    int row = row(a.node().name(), idx, i, op.numEmbeddings());
                    System.arraycopy(wd, w.offset() + row * d, yd, y.offset() + i * d, d);
                }
            });
        }

        static int row(String name, Buf idx, int i, int num) {
            long v = idx.getIndex(i);
            if (v < 0 || v >= num)
                throw new IllegalArgumentException("Embedding '" + name + "': index " + v + " at position " + i
                        + " is outside the table of " + num + " rows");
            return (int) v;
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gw = a.gradParam(0);
            if (gw == null) return;
            if (!a.accParam(0)) K.zero(gw);
            Buf gy = a.gradOut(0);
            if (gy == null) return;
            Embedding op = (Embedding) a.node().op();
            Buf idx = a.need(a.in(), 0, "input");
            int d = op.dim(), n = idx.numel();
            int[] rows = new int[n];
            for (int i = 0; i < n; i++) rows[i] = row(a.node().name(), idx, i, op.numEmbeddings());
            float[] wd = gw.data(), gd = gy.data();
            // parallel over column blocks; positions in order
            Par.range(d, Math.max(16, Par.grain(d, n)), (s, e) -> {
                for (int i = 0; i < n; i++) {
                    int wb = gw.offset() + rows[i] * d, yb = gy.offset() + i * d;
                    for (int j = s; j < e; j++) wd[wb + j] += gd[yb + j];
                }
            });
        }
    }

    /**
     * Fused scaled dot-product attention over q [N, Tq, D], k and v [N, Tk, D], split into heads of D/heads.
     * Causal: query i sees keys j <= i (PyTorch's is_causal, top-left aligned). aux[0] = lse [N, heads, Tq] fp32,
     * the log-sum-exp of each row of scaled scores. Backward recomputes the probabilities from q, k and lse.
     * Parallel over (batch, head) pairs, each with its own Tq x Tk score tiles.
     */
    static final class AttentionK implements CpuKernel {
        private record Geo(int n, int tq, int tk, int d, int heads, int dh, boolean causal, float scale) {
            static Geo of(Attention op, Shape q, Shape k) {
                int dh = q.dim(2) / op.heads();
                return new Geo(q.dim(0), q.dim(1), k.dim(1), q.dim(2), op.heads(), dh, op.causal(), (float) (1.0 / Math.sqrt(dh)));
            }
        }

        /** s[i*tk + j] = scale * q_i . k_j, masked to -inf above the diagonal when causal. */
        private static void scores(Geo g, Buf q, Buf k, int b, int h, float[] s) {
            int qo = q.offset() + b * g.tq * g.d + h * g.dh, ko = k.offset() + b * g.tk * g.d + h * g.dh;
            Gemm.gemmSeq(g.tq, g.tk, g.dh, q.data(), qo, g.d, false, k.data(), ko, g.d, true, s, 0, g.tk, false);
            for (int i = 0; i < g.tq; i++)
                for (int j = 0; j < g.tk; j++) {
                    int t = i * g.tk + j;
                    s[t] = g.causal && j > i ? Float.NEGATIVE_INFINITY : s[t] * g.scale;
                }
        }

        @Override
        public void forward(ForwardArgs a) {
            Geo g = Geo.of((Attention) a.node().op(), a.in()[0].shape(), a.in()[1].shape());
            Buf q = a.in()[0], k = a.in()[1], v = a.in()[2], y = a.out()[0];
            Buf lse = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            Par.each(g.n * g.heads, bh -> {
                int b = bh / g.heads, h = bh % g.heads;
                float[] s = new float[g.tq * g.tk];
                scores(g, q, k, b, h, s);
                for (int i = 0; i < g.tq; i++) {
                    int r = i * g.tk;
                    float mx = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < g.tk; j++) mx = Math.max(mx, s[r + j]);
                    double sum = 0;
                    for (int j = 0; j < g.tk; j++) sum += Math.exp(s[r + j] - mx);
                    float l = (float) (mx + Math.log(sum));
                    if (mx == Float.NEGATIVE_INFINITY) l = Float.NEGATIVE_INFINITY; // a row with no visible key
                    if (lse != null) lse.set((b * g.heads + h) * g.tq + i, l);
                    probs(s, r, g.tk, l);
                }
                int vo = v.offset() + b * g.tk * g.d + h * g.dh, yo = y.offset() + b * g.tq * g.d + h * g.dh;
                Gemm.gemmSeq(g.tq, g.dh, g.tk, s, 0, g.tk, false, v.data(), vo, g.d, false, y.data(), yo, g.d, false);
            });
        }

        /** Turns a row of scores into probabilities exp(s - lse). */
        private static void probs(float[] s, int r, int tk, float l) {
            for (int j = 0; j < tk; j++)
                s[r + j] = l == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(s[r + j] - l);
        }

        @Override
        public void backward(BackwardArgs a) {
            Geo g = Geo.of((Attention) a.node().op(), a.node().inShapes().get(0), a.node().inShapes().get(1));
            Buf gq = a.gradIn(0), gk = a.gradIn(1), gv = a.gradIn(2), gy = a.gradOut(0);
            if (gy == null) {
                for (int i = 0; i < 3; i++) if (a.gradIn(i) != null && !a.accIn(i)) K.zero(a.gradIn(i));
                return;
            }
            Buf q = a.need(a.in(), 0, "input"), k = a.need(a.in(), 1, "input"), v = a.need(a.in(), 2, "input");
            Buf y = a.need(a.out(), 0, "output"), lse = a.need(a.aux(), 0, "aux");
            Par.each(g.n * g.heads, bh -> {
                int b = bh / g.heads, h = bh % g.heads;
                float[] p = new float[g.tq * g.tk], dp = new float[g.tq * g.tk];
                scores(g, q, k, b, h, p);
                for (int i = 0; i < g.tq; i++) probs(p, i * g.tk, g.tk, lse.get((b * g.heads + h) * g.tq + i));
                int qo = q.offset() + b * g.tq * g.d + h * g.dh, ko = k.offset() + b * g.tk * g.d + h * g.dh;
                int vo = v.offset() + b * g.tk * g.d + h * g.dh, yo = gy.offset() + b * g.tq * g.d + h * g.dh;
                int oo = y.offset() + b * g.tq * g.d + h * g.dh;
                // dP = dO V^T
                Gemm.gemmSeq(g.tq, g.tk, g.dh, gy.data(), yo, g.d, false, v.data(), vo, g.d, true, dp, 0, g.tk, false);
                float[] yd = y.data(), gyd = gy.data();
                for (int i = 0; i < g.tq; i++) {
                    double di = 0;
                    for (int c = 0; c < g.dh; c++) di += gyd[yo + i * g.d + c] * yd[oo + i * g.d + c];
                    float dif = (float) di;
                    int r = i * g.tk;
                    for (int j = 0; j < g.tk; j++) dp[r + j] = p[r + j] * (dp[r + j] - dif) * g.scale; // scaled dS
                }
                if (gq != null) // dQ = dS K
                    Gemm.gemmSeq(g.tq, g.dh, g.tk, dp, 0, g.tk, false, k.data(), ko, g.d, false,
                            gq.data(), gq.offset() + b * g.tq * g.d + h * g.dh, g.d, a.accIn(0));
                if (gk != null) // dK = dS^T Q
                    Gemm.gemmSeq(g.tk, g.dh, g.tq, dp, 0, g.tk, true, q.data(), qo, g.d, false,
                            gk.data(), gk.offset() + b * g.tk * g.d + h * g.dh, g.d, a.accIn(1));
                if (gv != null) // dV = P^T dO
                    Gemm.gemmSeq(g.tk, g.dh, g.tq, p, 0, g.tk, true, gy.data(), yo, g.d, false,
                            gv.data(), gv.offset() + b * g.tk * g.d + h * g.dh, g.d, a.accIn(2));
            });
        }
    }

    /**
     * One LSTM step (PyTorch's LSTMCell, gate order i, f, g, o). Outputs h' and c'; aux[0] = the activated gates
     * [N, 4H]. Backward reads x, h, c, the weights, c' and the gates.
     */
    static final class LSTMCellK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            int hd = ((LSTMCell) a.node().op()).hidden();
            Buf x = a.in()[0], h = a.in()[1], c = a.in()[2], ho = a.out()[0], co = a.out()[1];
            Buf wih = a.params()[0], whh = a.params()[1], bih = a.params()[2], bhh = a.params()[3];
            Buf gates = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : Buf.alloc(Shape.of(x.shape().dim(0), 4 * hd), DType.FP32);
            int n = x.shape().dim(0), in = x.shape().dim(1), g4 = 4 * hd;
            Gemm.gemm(n, g4, in, x.data(), x.offset(), in, false, wih.data(), wih.offset(), in, true, gates.data(), gates.offset(), g4, false);
            Gemm.gemm(n, g4, hd, h.data(), h.offset(), hd, false, whh.data(), whh.offset(), hd, true, gates.data(), gates.offset(), g4, true);
            float[] gd = gates.data();
            Par.range(n, Par.grain(n, 20L * hd), (s, e) -> {
                for (int r = s; r < e; r++) {
                    int gb = gates.offset() + r * g4;
                    for (int j = 0; j < g4; j++) {
                        float pre = gd[gb + j] + bih.get(j) + bhh.get(j);
                        gd[gb + j] = j / hd == 2 ? (float) K.tanh(pre) : (float) (1.0 / (1.0 + Math.exp(-pre)));
                    }
                    for (int j = 0; j < hd; j++) {
                        float gi = gd[gb + j], gf = gd[gb + hd + j], gg = gd[gb + 2 * hd + j], go = gd[gb + 3 * hd + j];
                        float cn = gf * c.get(r * hd + j) + gi * gg;
                        co.set(r * hd + j, cn);
                        ho.set(r * hd + j, go * (float) K.tanh(cn));
                    }
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            int hd = ((LSTMCell) a.node().op()).hidden();
            Shape xs = a.node().inShapes().get(0);
            int n = xs.dim(0), in = xs.dim(1), g4 = 4 * hd;
            Buf gh2 = a.gradOut(0), gc2 = a.gradOut(1);
            Buf c = a.need(a.in(), 2, "input"), cn = a.need(a.out(), 1, "output"), gates = a.need(a.aux(), 0, "aux");
            Buf gx = a.gradIn(0), gh = a.gradIn(1), gc = a.gradIn(2);
            // dA: gradient of the pre-activation gates; gc written here too
            float[] da = new float[n * g4];
            float[] gd = gates.data();
            Par.range(n, Par.grain(n, 20L * hd), (s, e) -> {
                for (int r = s; r < e; r++) {
                    int gb = gates.offset() + r * g4;
                    for (int j = 0; j < hd; j++) {
                        int t = r * hd + j;
                        float gi = gd[gb + j], gf = gd[gb + hd + j], gg = gd[gb + 2 * hd + j], go = gd[gb + 3 * hd + j];
                        float tc = (float) K.tanh(cn.get(t));
                        float dh = gh2 == null ? 0f : gh2.get(t);
                        float dc = (gc2 == null ? 0f : gc2.get(t)) + dh * go * (1 - tc * tc);
                        float dO = dh * tc, dI = dc * gg, dG = dc * gi, dF = dc * c.get(t);
                        int ab = r * g4;
                        da[ab + j] = dI * gi * (1 - gi);
                        da[ab + hd + j] = dF * gf * (1 - gf);
                        da[ab + 2 * hd + j] = dG * (1 - gg * gg);
                        da[ab + 3 * hd + j] = dO * go * (1 - go);
                        if (gc != null) K.put(gc.data(), gc.offset() + t, dc * gf, a.accIn(2));
                    }
                }
            });
            if (gx != null) {
                Buf w = a.need(a.params(), 0, "param");
                Gemm.gemm(n, in, g4, da, 0, g4, false, w.data(), w.offset(), in, false, gx.data(), gx.offset(), in, a.accIn(0));
            }
            if (gh != null) {
                Buf w = a.need(a.params(), 1, "param");
                Gemm.gemm(n, hd, g4, da, 0, g4, false, w.data(), w.offset(), hd, false, gh.data(), gh.offset(), hd, a.accIn(1));
            }
            Buf gwih = a.gradParam(0), gwhh = a.gradParam(1);
            if (gwih != null) {
                Buf x = a.need(a.in(), 0, "input");
                Gemm.gemm(g4, in, n, da, 0, g4, true, x.data(), x.offset(), in, false, gwih.data(), gwih.offset(), in, a.accParam(0));
            }
            if (gwhh != null) {
                Buf h = a.need(a.in(), 1, "input");
                Gemm.gemm(g4, hd, n, da, 0, g4, true, h.data(), h.offset(), hd, false, gwhh.data(), gwhh.offset(), hd, a.accParam(1));
            }
            Buf daBuf = new Buf(da, 0, Shape.of(n, g4), DType.FP32);
            for (int p = 2; p < 4; p++) if (a.gradParam(p) != null) GemmKernels.columnSums(daBuf, n, g4, a.gradParam(p), a.accParam(p));
        }
    }

    /**
     * Mean cross-entropy of logits against integer targets along classAxis; aux[0] = log_softmax (same shape as
     * the logits). Backward reads aux and the target: g * (softmax - onehot) / count, where g is gradOut[0]
     * (1 when null, as for the loss that starts backward).
     */
    static final class CrossEntropyK implements CpuKernel {
        private record Geo(int outer, int classes, int inner) {
            static Geo of(CrossEntropy op, Shape logits) {
                int ax = op.classAxis() < 0 ? logits.rank() + op.classAxis() : op.classAxis();
                return new Geo((int) logits.numel(0, ax), logits.dim(ax), (int) logits.numel(ax + 1, logits.rank()));
            }

            int positions() { return outer * inner; }
        }

        static int target(String name, Buf t, int pos, int classes) {
            long v = t.getIndex(pos);
            if (v < 0 || v >= classes)
                throw new IllegalArgumentException("CrossEntropy '" + name + "': target " + v + " at position " + pos
                        + " is outside 0.." + (classes - 1));
            return (int) v;
        }

        @Override
        public void forward(ForwardArgs a) {
            Geo g = Geo.of((CrossEntropy) a.node().op(), a.in()[0].shape());
            Buf x = a.in()[0], t = a.in()[1], loss = a.out()[0];
            Buf lsm = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : Buf.alloc(x.shape(), DType.FP32);
            int np = g.positions();
            double[] nll = new double[np];
            float[] xd = x.data(), ld = lsm.data();
            Par.range(np, Par.grain(np, 8L * g.classes), (s, e) -> {
                for (int pos = s; pos < e; pos++) {
                    int o = pos / g.inner, in = pos % g.inner;
                    int base = o * g.classes * g.inner + in;
                    float mx = Float.NEGATIVE_INFINITY;
                    for (int c = 0; c < g.classes; c++) mx = Math.max(mx, xd[x.offset() + base + c * g.inner]);
                    double sum = 0;
                    for (int c = 0; c < g.classes; c++) sum += Math.exp(xd[x.offset() + base + c * g.inner] - mx);
                    float lz = (float) (mx + Math.log(sum));
                    for (int c = 0; c < g.classes; c++) ld[lsm.offset() + base + c * g.inner] = xd[x.offset() + base + c * g.inner] - lz;
                    nll[pos] = -ld[lsm.offset() + base + target(a.node().name(), t, pos, g.classes) * g.inner];
                }
            });
            double total = 0;
            for (double v : nll) total += v;
            loss.set(0, (float) (total / np));
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gx = a.gradIn(0);
            if (gx == null) return;
            Geo g = Geo.of((CrossEntropy) a.node().op(), a.node().inShapes().get(0));
            Buf lsm = a.need(a.aux(), 0, "aux"), t = a.need(a.in(), 1, "input");
            Buf gl = a.gradOut(0);
            float scale = (gl == null ? 1f : gl.get(0)) / g.positions();
            boolean acc = a.accIn(0);
            float[] ld = lsm.data(), gd = gx.data();
            int np = g.positions();
            Par.range(np, Par.grain(np, 4L * g.classes), (s, e) -> {
                for (int pos = s; pos < e; pos++) {
                    int o = pos / g.inner, in = pos % g.inner;
                    int base = o * g.classes * g.inner + in;
                    int tc = target(a.node().name(), t, pos, g.classes);
                    for (int c = 0; c < g.classes; c++) {
                        int i = base + c * g.inner;
                        float p = (float) Math.exp(ld[lsm.offset() + i]);
                        K.put(gd, gx.offset() + i, (p - (c == tc ? 1f : 0f)) * scale, acc);
                    }
                }
            });
        }
    }

    /** Mean squared error; the gradient of the target (input 1) is the negative of the prediction's. */
    static final class MseLossK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf p = a.in()[0], t = a.in()[1];
            int n = p.numel();
            double sum = 0;
            for (int i = 0; i < n; i++) {
                double d = (double) p.get(i) - t.get(i);
                sum += d * d;
            }
            a.out()[0].set(0, (float) (sum / n));
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gl = a.gradOut(0);
            float scale = 2f * (gl == null ? 1f : gl.get(0)) / a.node().inShapes().get(0).numel();
            for (int k = 0; k < 2; k++) {
                Buf g = a.gradIn(k);
                if (g == null) continue;
                Buf p = a.need(a.in(), 0, "input"), t = a.need(a.in(), 1, "input");
                float sc = k == 0 ? scale : -scale;
                boolean acc = a.accIn(k);
                float[] gd = g.data();
                Par.range(g.numel(), K.GRAIN, (s, e) -> {
                    for (int i = s; i < e; i++) K.put(gd, g.offset() + i, (p.get(i) - t.get(i)) * sc, acc);
                });
            }
        }
    }
}

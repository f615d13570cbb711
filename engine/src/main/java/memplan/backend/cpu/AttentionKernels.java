package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.Attention;

/** Kernels of attention over a sequence. */
final class AttentionKernels {
    private AttentionKernels() {
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
                return new Geo(q.dim(0), q.dim(1), k.dim(1), q.dim(2), op.heads(), dh, op.causal(),
                        (float) (1.0 / Math.sqrt(dh)));
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
}

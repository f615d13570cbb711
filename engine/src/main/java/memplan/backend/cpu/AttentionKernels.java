package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.Attention;

/** Kernels of attention over a sequence. */
final class AttentionKernels {
    private AttentionKernels() {
    }

    /**
     * Scaled dot-product attention over q [N, Tq, H * dh], k and v [N, Tk, Hkv * dh]; query head h reads key and
     * value head h / (H / Hkv). Causal: query i sees keys j <= i (PyTorch's is_causal, top-left aligned).
     * Fused form: aux[0] = lse [N, H, Tq] fp32, the log-sum-exp of each row of scaled scores; backward recomputes
     * the probabilities from q, k and lse. Eager form: aux[0] = the probabilities [N, H, Tq, Tk], and for grouped
     * heads aux[1], aux[2] = k and v repeated to every head [N, Tk, H * dh]; backward reads those instead of
     * recomputing. Both give the same numbers. Forward runs parallel over (batch, head) pairs; backward over
     * (batch, key head) pairs, the heads of a group in order, so that their key and value gradients add up
     * without races and always in the same order.
     */
    static final class AttentionK implements CpuKernel {
        /** kd: the row width of the key and value tensors read (Hkv * dh for k and v, H * dh for the repeats). */
        private record Geo(int n, int tq, int tk, int d, int heads, int group, int dh, int kd, boolean causal,
                           float scale) {
            static Geo of(Attention op, Shape q, Shape k, boolean repeated) {
                int dh = q.dim(2) / op.heads();
                return new Geo(q.dim(0), q.dim(1), k.dim(1), q.dim(2), op.heads(), op.heads() / op.kvHeads(), dh,
                        repeated ? q.dim(2) : k.dim(2), op.causal(), (float) (1.0 / Math.sqrt(dh)));
            }

            /** Offset of head h's columns in a key or value row. */
            int kvColumn(int h) {
                return kd == d ? h * dh : h / group * dh;
            }
        }

        /** s[i*tk + j] = scale * q_i . k_j, masked to -inf above the diagonal when causal. */
        private static void scores(Geo g, Buf q, Buf k, int b, int h, float[] s) {
            int qo = q.offset() + b * g.tq * g.d + h * g.dh, ko = k.offset() + b * g.tk * g.kd + g.kvColumn(h);
            Gemm.gemmSeq(g.tq, g.tk, g.dh, q.data(), qo, g.d, false, k.data(), ko, g.kd, true, s, 0, g.tk, false);
            for (int i = 0; i < g.tq; i++)
                for (int j = 0; j < g.tk; j++) {
                    int t = i * g.tk + j;
                    s[t] = g.causal && j > i ? Float.NEGATIVE_INFINITY : s[t] * g.scale;
                }
        }

        @Override
        public void forward(ForwardArgs a) {
            Attention op = (Attention) a.node().op();
            Geo g = Geo.of(op, a.in()[0].shape(), a.in()[1].shape(), false);
            Buf q = a.in()[0], k = a.in()[1], v = a.in()[2], y = a.out()[0];
            Buf aux0 = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            boolean eager = op.form() == Attention.Form.EAGER;
            if (eager && op.grouped() && a.aux() != null && a.aux().length > 2) {
                repeat(g, k, a.aux()[1]);
                repeat(g, v, a.aux()[2]);
            }
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
                    if (aux0 != null && !eager) aux0.set((b * g.heads + h) * g.tq + i, l);
                    probs(s, r, g.tk, l);
                }
                if (aux0 != null && eager)
                    System.arraycopy(s, 0, aux0.data(), aux0.offset() + bh * g.tq * g.tk, g.tq * g.tk);
                int vo = v.offset() + b * g.tk * g.kd + g.kvColumn(h), yo = y.offset() + b * g.tq * g.d + h * g.dh;
                Gemm.gemmSeq(g.tq, g.dh, g.tk, s, 0, g.tk, false, v.data(), vo, g.kd, false, y.data(), yo, g.d, false);
            });
        }

        /** Copies k [N, Tk, Hkv * dh] to every query head, [N, Tk, H * dh] (Hugging Face's repeat_kv). */
        private static void repeat(Geo g, Buf k, Buf rep) {
            float[] kd = k.data(), rd = rep.data();
            Par.range(g.n * g.tk, Par.grain((long) g.n * g.tk, g.d), (s, e) -> {
                for (int row = s; row < e; row++)
                    for (int h = 0; h < g.heads; h++)
                        System.arraycopy(kd, k.offset() + row * g.kd + g.kvColumn(h), rd,
                                rep.offset() + row * g.d + h * g.dh, g.dh);
            });
        }

        /** Turns a row of scores into probabilities exp(s - lse). */
        private static void probs(float[] s, int r, int tk, float l) {
            for (int j = 0; j < tk; j++)
                s[r + j] = l == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(s[r + j] - l);
        }

        @Override
        public void backward(BackwardArgs a) {
            Attention op = (Attention) a.node().op();
            boolean eager = op.form() == Attention.Form.EAGER, repeated = eager && op.grouped();
            Shape qs = a.node().inShapes().get(0), ks = a.node().inShapes().get(1);
            Geo g = Geo.of(op, qs, ks, repeated);
            Buf gq = a.gradIn(0), gk = a.gradIn(1), gv = a.gradIn(2), gy = a.gradOut(0);
            if (gy == null) {
                for (int i = 0; i < 3; i++) if (a.gradIn(i) != null && !a.accIn(i)) K.zero(a.gradIn(i));
                return;
            }
            // eager attention keeps q only for k's gradient and k only for q's (fused recomputes with both)
            Buf q = eager && gk == null ? null : a.need(a.in(), 0, "input");
            Buf k = eager && gq == null ? null : repeated ? a.need(a.aux(), 1, "aux") : a.need(a.in(), 1, "input");
            Buf v = eager && gq == null && gk == null ? null
                    : repeated ? a.need(a.aux(), 2, "aux") : a.need(a.in(), 2, "input");
            Buf y = eager ? null : a.need(a.out(), 0, "output");
            Buf saved = a.need(a.aux(), 0, "aux");
            int kvHeads = op.kvHeads(), kw = ks.dim(2);
            Par.each(g.n * kvHeads, bk -> {
                int b = bk / kvHeads, kh = bk % kvHeads;
                float[] p = new float[g.tq * g.tk], dp = new float[g.tq * g.tk];
                for (int h = kh * g.group; h < (kh + 1) * g.group; h++) {
                    boolean first = h == kh * g.group;
                    int bh = b * g.heads + h;
                    if (eager) {
                        System.arraycopy(saved.data(), saved.offset() + bh * g.tq * g.tk, p, 0, g.tq * g.tk);
                    } else {
                        scores(g, q, k, b, h, p);
                        for (int i = 0; i < g.tq; i++) probs(p, i * g.tk, g.tk, saved.get(bh * g.tq + i));
                    }
                    int qo = q == null ? 0 : q.offset() + b * g.tq * g.d + h * g.dh;
                    int ko = k == null ? 0 : k.offset() + b * g.tk * g.kd + g.kvColumn(h);
                    int vo = v == null ? 0 : v.offset() + b * g.tk * g.kd + g.kvColumn(h);
                    int yo = gy.offset() + b * g.tq * g.d + h * g.dh;
                    if (gv != null) // dV = P^T dO, summed over the group
                        Gemm.gemmSeq(g.tk, g.dh, g.tq, p, 0, g.tk, true, gy.data(), yo, g.d, false,
                                gv.data(), gv.offset() + b * g.tk * kw + kh * g.dh, kw, a.accIn(2) || !first);
                    if (gq == null && gk == null) continue;
                    // dP = dO V^T
                    Gemm.gemmSeq(g.tq, g.tk, g.dh, gy.data(), yo, g.d, false, v.data(), vo, g.kd, true, dp, 0, g.tk,
                            false);
                    int oo = eager ? 0 : y.offset() + b * g.tq * g.d + h * g.dh;
                    for (int i = 0; i < g.tq; i++) {
                        int r = i * g.tk;
                        double di = 0;   // fused: dO_i . O_i; eager: rowsum(dP * P), the same without the output
                        if (eager) for (int j = 0; j < g.tk; j++) di += dp[r + j] * p[r + j];
                        else for (int c = 0; c < g.dh; c++)
                            di += gy.data()[yo + i * g.d + c] * y.data()[oo + i * g.d + c];
                        float dif = (float) di;
                        for (int j = 0; j < g.tk; j++) dp[r + j] = p[r + j] * (dp[r + j] - dif) * g.scale; // dS
                    }
                    if (gq != null) // dQ = dS K
                        Gemm.gemmSeq(g.tq, g.dh, g.tk, dp, 0, g.tk, false, k.data(), ko, g.kd, false,
                                gq.data(), gq.offset() + b * g.tq * g.d + h * g.dh, g.d, a.accIn(0));
                    int go = b * g.tk * kw + kh * g.dh;
                    if (gk != null) // dK = dS^T Q, summed over the group
                        Gemm.gemmSeq(g.tk, g.dh, g.tq, dp, 0, g.tk, true, q.data(), qo, g.d, false,
                                gk.data(), gk.offset() + go, kw, a.accIn(1) || !first);
                }
            });
        }
    }
}

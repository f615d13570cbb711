package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Attention;
import memplan.ops.CrossEntropy;
import memplan.ops.Embedding;
import memplan.ops.LSTMCell;

/** Token lookups (Embedding) and recurrent cells (LSTMCell). */
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
     * One LSTM step (PyTorch's LSTMCell, gate order i, f, g, o). Outputs h' and c'; aux[0] = the activated gates
     * [N, 4H]. Backward reads x, h, c, the weights, c' and the gates.
     */
    static final class LSTMCellK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            int hd = ((LSTMCell) a.node().op()).hidden();
            Buf x = a.in()[0], h = a.in()[1], c = a.in()[2], ho = a.out()[0], co = a.out()[1];
            Buf wih = a.params()[0], whh = a.params()[1], bih = a.params()[2], bhh = a.params()[3];
            Buf gates = a.aux() != null && a.aux().length > 0 ? a.aux()[0]
                    : Buf.alloc(Shape.of(x.shape().dim(0), 4 * hd), DType.FP32);
            int n = x.shape().dim(0), in = x.shape().dim(1), g4 = 4 * hd;
            Gemm.gemm(n, g4, in, x.data(), x.offset(), in, false, wih.data(), wih.offset(), in, true, gates.data(),
                    gates.offset(), g4, false);
            Gemm.gemm(n, g4, hd, h.data(), h.offset(), hd, false, whh.data(), whh.offset(), hd, true, gates.data(),
                    gates.offset(), g4, true);
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
                Gemm.gemm(n, in, g4, da, 0, g4, false, w.data(), w.offset(), in, false, gx.data(),
                        gx.offset(), in, a.accIn(0));
            }
            if (gh != null) {
                Buf w = a.need(a.params(), 1, "param");
                Gemm.gemm(n, hd, g4, da, 0, g4, false, w.data(), w.offset(), hd, false, gh.data(),
                        gh.offset(), hd, a.accIn(1));
            }
            Buf gwih = a.gradParam(0), gwhh = a.gradParam(1);
            if (gwih != null) {
                Buf x = a.need(a.in(), 0, "input");
                Gemm.gemm(g4, in, n, da, 0, g4, true, x.data(), x.offset(), in, false, gwih.data(),
                        gwih.offset(), in, a.accParam(0));
            }
            if (gwhh != null) {
                Buf h = a.need(a.in(), 1, "input");
                Gemm.gemm(g4, hd, n, da, 0, g4, true, h.data(), h.offset(), hd, false, gwhh.data(),
                        gwhh.offset(), hd, a.accParam(1));
            }
            Buf daBuf = new Buf(da, 0, Shape.of(n, g4), DType.FP32);
            for (int p = 2; p < 4; p++) if (a.gradParam(p) != null)
                GemmKernels.columnSums(daBuf, n, g4, a.gradParam(p), a.accParam(p));
        }
    }


}

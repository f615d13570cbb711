package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.CrossEntropy;

/** Kernels of the losses. */
final class LossKernels {
    private LossKernels() {
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
                    for (int c = 0; c < g.classes; c++) ld[lsm.offset() + base + c * g.inner] = xd[x.offset()
                            + base + c * g.inner] - lz;
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

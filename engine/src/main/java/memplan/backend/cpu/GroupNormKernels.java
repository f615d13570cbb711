package memplan.backend.cpu;

import memplan.ops.GroupNorm;

/**
 * GroupNorm over [N, C, S...]: statistics per (image, group) in double, parallel over (image, group) for the output
 * and the input gradient and over channels for the parameter gradients (images then positions, a fixed order).
 */
final class GroupNormKernels {
    private GroupNormKernels() {
    }

    /** The layout of one GroupNorm node: images, channels, groups and positions per channel. */
    private record Geo(int n, int c, int g, int s) {
        static Geo of(GroupNorm op, int[] dims) {
            int s = 1;
            for (int i = 2; i < dims.length; i++) s *= dims[i];
            return new Geo(dims[0], dims[1], op.groups(), s);
        }

        int cg() { return c / g; }
        /** Elements of one (image, group): its channels' positions, contiguous. */
        int groupSize() { return cg() * s; }
    }

    static final class GroupNormK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            GroupNorm op = (GroupNorm) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            Buf w = op.affine() ? a.params()[0] : null, b = op.affine() ? a.params()[1] : null;
            Buf mean = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            Buf rstd = a.aux() != null && a.aux().length > 1 ? a.aux()[1] : null;
            Geo g = Geo.of(op, x.shape().dims());
            float[] xd = x.data(), yd = y.data();
            Par.each(g.n * g.g, ng -> {
                int base = ng * g.groupSize();
                double sum = 0, sq = 0;
                for (int i = 0; i < g.groupSize(); i++) sum += xd[x.offset() + base + i];
                double mu = sum / g.groupSize();
                for (int i = 0; i < g.groupSize(); i++) {
                    double d = xd[x.offset() + base + i] - mu;
                    sq += d * d;
                }
                float m = (float) mu, r = (float) (1 / Math.sqrt(sq / g.groupSize() + op.eps()));
                if (mean != null) mean.set(ng, m);
                if (rstd != null) rstd.set(ng, r);
                int c0 = (ng % g.g) * g.cg();
                for (int ci = 0; ci < g.cg(); ci++) {
                    float sc = w == null ? r : r * w.get(c0 + ci), sh = b == null ? 0f : b.get(c0 + ci);
                    int o = base + ci * g.s;
                    for (int p = 0; p < g.s; p++) yd[y.offset() + o + p] = (xd[x.offset() + o + p] - m) * sc + sh;
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            GroupNorm op = (GroupNorm) a.node().op();
            Buf gy = a.gradOut(0), gx = a.gradIn(0);
            Buf gw = op.affine() ? a.gradParam(0) : null, gb = op.affine() ? a.gradParam(1) : null;
            if (K.zeroWithoutGradient(a, gy, gx, gw, gb)) return;
            Buf x = a.need(a.in(), 0, "input");
            Buf mean = a.need(a.aux(), 0, "aux (mean)"), rstd = a.need(a.aux(), 1, "aux (rstd)");
            Buf w = op.affine() ? a.need(a.params(), 0, "param") : null;
            Geo g = Geo.of(op, x.shape().dims());
            float[] xd = x.data(), gyd = gy.data();
            if (gw != null || gb != null) {
                Par.each(g.c, c -> {
                    double sw = 0, sb = 0;
                    int grp = c / g.cg();
                    for (int n = 0; n < g.n; n++) {
                        int ng = n * g.g + grp, o = (n * g.c + c) * g.s;
                        double m = mean.get(ng), r = rstd.get(ng);
                        for (int p = 0; p < g.s; p++) {
                            double dy = gyd[gy.offset() + o + p];
                            sw += dy * (xd[x.offset() + o + p] - m) * r;
                            sb += dy;
                        }
                    }
                    if (gw != null) K.put(gw.data(), gw.offset() + c, (float) sw, a.accParam(0));
                    if (gb != null) K.put(gb.data(), gb.offset() + c, (float) sb, a.accParam(1));
                });
            }
            if (gx == null) return;
            float[] gxd = gx.data();
            boolean acc = a.accIn(0);
            Par.each(g.n * g.g, ng -> {
                int base = ng * g.groupSize(), c0 = (ng % g.g) * g.cg();
                double m = mean.get(ng), r = rstd.get(ng), sumD = 0, sumDX = 0;
                for (int ci = 0; ci < g.cg(); ci++) {
                    double wc = w == null ? 1 : w.get(c0 + ci);
                    int o = base + ci * g.s;
                    for (int p = 0; p < g.s; p++) {
                        double d = gyd[gy.offset() + o + p] * wc;
                        sumD += d;
                        sumDX += d * (xd[x.offset() + o + p] - m) * r;
                    }
                }
                double meanD = sumD / g.groupSize(), meanDX = sumDX / g.groupSize();
                for (int ci = 0; ci < g.cg(); ci++) {
                    double wc = w == null ? 1 : w.get(c0 + ci);
                    int o = base + ci * g.s;
                    for (int p = 0; p < g.s; p++) {
                        double xh = (xd[x.offset() + o + p] - m) * r;
                        double v = r * (gyd[gy.offset() + o + p] * wc - meanD - xh * meanDX);
                        K.put(gxd, gx.offset() + o + p, (float) v, acc);
                    }
                }
            });
        }
    }
}

package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.ConvTranspose3d;
import memplan.ops.Triple;

/**
 * ConvTranspose3d by direct loops (the adjoint of Conv3d's, as Spatial3dKernels computes Conv3d): each output
 * element gathers the input elements whose kernel patch covers it; backward computes the input gradient as a Conv3d
 * of the output gradient and the weight gradient per (in, out) channel pair. Each element is written by one task and
 * summed in a fixed order, so results do not depend on the thread count.
 */
final class ConvTranspose3dKernel implements CpuKernel {
    /** Input sizes (c, d, h, w), output sizes (o, od, oh, ow) and the kernel, stride, padding and dilation. */
    private record Geo(int n, int c, int d, int h, int w, int o, int od, int oh, int ow, Triple k, Triple s,
                       Triple p, Triple dil) {
        static Geo of(ConvTranspose3d op, Shape x, Shape y) {
            return new Geo(x.dim(0), x.dim(1), x.dim(2), x.dim(3), x.dim(4), y.dim(1), y.dim(2), y.dim(3), y.dim(4),
                    op.kernel(), op.stride(), op.padding(), op.dilation());
        }

        int vol() { return d * h * w; }
        int outVol() { return od * oh * ow; }
        int kVol() { return k.d() * k.h() * k.w(); }
        /** Output coordinate of input coordinate i at kernel offset u (may lie outside the output). */
        int yd(int i, int u) { return i * s.d() - p.d() + u * dil.d(); }
        int yh(int i, int u) { return i * s.h() - p.h() + u * dil.h(); }
        int yw(int i, int u) { return i * s.w() - p.w() + u * dil.w(); }
    }

    /** The input coordinate whose patch reaches output coordinate z at kernel offset u, or -1. */
    private static int source(int z, int u, int s, int p, int dil, int in) {
        int t = z + p - u * dil;
        if (t < 0 || t % s != 0) return -1;
        int i = t / s;
        return i < in ? i : -1;
    }

    @Override
    public void forward(ForwardArgs a) {
        ConvTranspose3d op = (ConvTranspose3d) a.node().op();
        Buf x = a.in()[0], y = a.out()[0], wt = a.params()[0];
        Buf b = op.bias() ? a.params()[1] : null;
        Geo g = Geo.of(op, x.shape(), y.shape());
        int cg = g.c / op.groups(), og = g.o / op.groups(), kd = g.k.d(), kh = g.k.h(), kw = g.k.w();
        float[] xd = x.data(), yd = y.data(), wd = wt.data();
        Par.each(g.n * g.o, no -> {
            int n = no / g.o, o = no % g.o, c0 = (o / og) * cg, oo = o % og;
            int yb = y.offset() + no * g.outVol();
            float bias = b == null ? 0f : b.get(o);
            for (int z = 0; z < g.od; z++)
                for (int q = 0; q < g.oh; q++)
                    for (int r = 0; r < g.ow; r++) {
                        float sum = 0f;
                        for (int c = 0; c < cg; c++) {
                            int xb = x.offset() + (n * g.c + c0 + c) * g.vol();
                            int wb = wt.offset() + ((c0 + c) * og + oo) * g.kVol();
                            for (int u = 0; u < kd; u++) {
                                int i = source(z, u, g.s.d(), g.p.d(), g.dil.d(), g.d);
                                if (i < 0) continue;
                                for (int v = 0; v < kh; v++) {
                                    int j = source(q, v, g.s.h(), g.p.h(), g.dil.h(), g.h);
                                    if (j < 0) continue;
                                    for (int t = 0; t < kw; t++) {
                                        int l = source(r, t, g.s.w(), g.p.w(), g.dil.w(), g.w);
                                        if (l < 0) continue;
                                        sum += wd[wb + (u * kh + v) * kw + t] * xd[xb + (i * g.h + j) * g.w + l];
                                    }
                                }
                            }
                        }
                        yd[yb + (z * g.oh + q) * g.ow + r] = sum + bias;
                    }
        });
    }

    @Override
    public void backward(BackwardArgs a) {
        ConvTranspose3d op = (ConvTranspose3d) a.node().op();
        Geo g = Geo.of(op, a.node().inShapes().get(0), a.node().outShapes().get(0));
        Buf gy = a.gradOut(0), gx = a.gradIn(0), gw = a.gradParam(0), gb = op.bias() ? a.gradParam(1) : null;
        if (gy == null) {
            if (gx != null && !a.accIn(0)) K.zero(gx);
            if (gw != null && !a.accParam(0)) K.zero(gw);
            if (gb != null && !a.accParam(1)) K.zero(gb);
            return;
        }
        int cg = g.c / op.groups(), og = g.o / op.groups(), kd = g.k.d(), kh = g.k.h(), kw = g.k.w();
        float[] gyd = gy.data();
        if (gb != null) {
            Par.each(g.o, o -> {
                double sum = 0;
                for (int n = 0; n < g.n; n++) {
                    int base = gy.offset() + (n * g.o + o) * g.outVol();
                    for (int q = 0; q < g.outVol(); q++) sum += gyd[base + q];
                }
                K.put(gb.data(), gb.offset() + o, (float) sum, a.accParam(1));
            });
        }
        if (gw != null) {
            Buf x = a.need(a.in(), 0, "input");
            float[] xd = x.data();
            // one task per (in channel, out channel of its group): all taps, summed over images then positions
            Par.each(g.c * og, co -> {
                int c = co / og, oo = co % og, o = (c / cg) * og + oo;
                for (int u = 0; u < kd; u++)
                    for (int v = 0; v < kh; v++)
                        for (int t = 0; t < kw; t++) {
                            double sum = 0;
                            for (int n = 0; n < g.n; n++) {
                                int xb = x.offset() + (n * g.c + c) * g.vol();
                                int yb = gy.offset() + (n * g.o + o) * g.outVol();
                                for (int i = 0; i < g.d; i++) {
                                    int z = g.yd(i, u);
                                    if (z < 0 || z >= g.od) continue;
                                    for (int j = 0; j < g.h; j++) {
                                        int q = g.yh(j, v);
                                        if (q < 0 || q >= g.oh) continue;
                                        for (int l = 0; l < g.w; l++) {
                                            int r = g.yw(l, t);
                                            if (r < 0 || r >= g.ow) continue;
                                            sum += (double) xd[xb + (i * g.h + j) * g.w + l]
                                                    * gyd[yb + (z * g.oh + q) * g.ow + r];
                                        }
                                    }
                                }
                            }
                            int wi = gw.offset() + co * g.kVol() + (u * kh + v) * kw + t;
                            K.put(gw.data(), wi, (float) sum, a.accParam(0));
                        }
            });
        }
        if (gx != null) {
            Buf wt = a.need(a.params(), 0, "param");
            float[] wd = wt.data(), gxd = gx.data();
            boolean acc = a.accIn(0);
            Par.each(g.n * g.c, nc -> {
                int n = nc / g.c, c = nc % g.c, o0 = (c / cg) * og;
                int xb = gx.offset() + nc * g.vol();
                for (int i = 0; i < g.d; i++)
                    for (int j = 0; j < g.h; j++)
                        for (int l = 0; l < g.w; l++) {
                            float sum = 0f;
                            for (int oo = 0; oo < og; oo++) {
                                int yb = gy.offset() + (n * g.o + o0 + oo) * g.outVol();
                                int wb = wt.offset() + (c * og + oo) * g.kVol();
                                for (int u = 0; u < kd; u++) {
                                    int z = g.yd(i, u);
                                    if (z < 0 || z >= g.od) continue;
                                    for (int v = 0; v < kh; v++) {
                                        int q = g.yh(j, v);
                                        if (q < 0 || q >= g.oh) continue;
                                        for (int t = 0; t < kw; t++) {
                                            int r = g.yw(l, t);
                                            if (r < 0 || r >= g.ow) continue;
                                            sum += wd[wb + (u * kh + v) * kw + t] * gyd[yb + (z * g.oh + q) * g.ow + r];
                                        }
                                    }
                                }
                            }
                            K.put(gxd, xb + (i * g.h + j) * g.w + l, sum, acc);
                        }
            });
        }
    }
}

package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.AvgPool3d;
import memplan.ops.Conv3d;
import memplan.ops.MaxPool3d;
import memplan.ops.Triple;

/**
 * Conv3d, MaxPool3d and AvgPool3d over [N, C, D, H, W] by direct loops: the reference the CUDA kernels are
 * checked against, kept simple (3-D networks are profiled far more often than trained on a CPU). Each output
 * element is written by one task and summed in a fixed order, so results do not depend on the thread count.
 */
final class Spatial3dKernels {
    private Spatial3dKernels() {
    }

    /**
     * The window geometry of one 3-D op: input and output volumes, kernel, stride, padding, dilation. For
     * ConvTranspose3d, whose windows run the other way, "input" is the smaller side its kernel is applied from.
     */
    record Geo(int n, int c, int d, int h, int w, int o, int od, int oh, int ow, Triple k, Triple s,
                       Triple p, Triple dil) {
        static Geo of(Shape x, Shape y, Triple k, Triple s, Triple p, Triple dil) {
            return new Geo(x.dim(0), x.dim(1), x.dim(2), x.dim(3), x.dim(4), y.dim(1), y.dim(2), y.dim(3), y.dim(4),
                    k, s, p, dil);
        }

        int vol() { return d * h * w; }
        int outVol() { return od * oh * ow; }
        int kVol() { return k.d() * k.h() * k.w(); }
        /** Input index along depth of output position i and kernel offset u (may lie outside [0, d)). */
        int zd(int i, int u) { return i * s.d() - p.d() + u * dil.d(); }
        int zh(int i, int u) { return i * s.h() - p.h() + u * dil.h(); }
        int zw(int i, int u) { return i * s.w() - p.w() + u * dil.w(); }
    }

    /** gb (+)= the output gradient summed per output channel over images and positions, in that order (in double). */
    static void biasGradient(Geo g, Buf gy, Buf gb, boolean acc) {
        float[] gyd = gy.data();
        Par.each(g.o(), o -> {
            double sum = 0;
            for (int n = 0; n < g.n(); n++) {
                int base = gy.offset() + (n * g.o() + o) * g.outVol();
                for (int q = 0; q < g.outVol(); q++) sum += gyd[base + q];
            }
            K.put(gb.data(), gb.offset() + o, (float) sum, acc);
        });
    }

    /** Direct 3-D convolution; groups split the channels as in Conv2d. No workspace is used. */
    static final class Conv3dK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Conv3d op = (Conv3d) a.node().op();
            Buf x = a.in()[0], y = a.out()[0], wt = a.params()[0];
            Buf b = op.bias() ? a.params()[1] : null;
            Geo g = Geo.of(x.shape(), y.shape(), op.kernel(), op.stride(), op.padding(), op.dilation());
            int cg = g.c / op.groups(), og = g.o / op.groups(), kd = g.k.d(), kh = g.k.h(), kw = g.k.w();
            float[] xd = x.data(), yd = y.data(), wd = wt.data();
            Par.each(g.n * g.o, no -> {
                int n = no / g.o, o = no % g.o, c0 = (o / og) * cg;
                int yb = y.offset() + no * g.outVol();
                float bias = b == null ? 0f : b.get(o);
                for (int i = 0; i < g.od; i++)
                    for (int j = 0; j < g.oh; j++)
                        for (int l = 0; l < g.ow; l++) {
                            float sum = 0f;
                            for (int c = 0; c < cg; c++) {
                                int xb = x.offset() + (n * g.c + c0 + c) * g.vol();
                                int wb = wt.offset() + (o * cg + c) * g.kVol();
                                for (int u = 0; u < kd; u++) {
                                    int zd = g.zd(i, u);
                                    if (zd < 0 || zd >= g.d) continue;
                                    for (int v = 0; v < kh; v++) {
                                        int zh = g.zh(j, v);
                                        if (zh < 0 || zh >= g.h) continue;
                                        for (int t = 0; t < kw; t++) {
                                            int zw = g.zw(l, t);
                                            if (zw < 0 || zw >= g.w) continue;
                                            sum += wd[wb + (u * kh + v) * kw + t] * xd[xb + (zd * g.h + zh) * g.w + zw];
                                        }
                                    }
                                }
                            }
                            yd[yb + (i * g.oh + j) * g.ow + l] = sum + bias;
                        }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            Conv3d op = (Conv3d) a.node().op();
            Geo g = Geo.of(a.node().inShapes().get(0), a.node().outShapes().get(0), op.kernel(), op.stride(),
                    op.padding(), op.dilation());
            Buf gy = a.gradOut(0), gx = a.gradIn(0), gw = a.gradParam(0), gb = op.bias() ? a.gradParam(1) : null;
            if (K.zeroWithoutGradient(a, gy, gx, gw, gb)) return;
            int cg = g.c / op.groups(), og = g.o / op.groups(), kd = g.k.d(), kh = g.k.h(), kw = g.k.w();
            float[] gyd = gy.data();
            if (gb != null) biasGradient(g, gy, gb, a.accParam(1));
            if (gw != null) {
                Buf x = a.need(a.in(), 0, "input");
                float[] xd = x.data();
                // one task per (out channel, in channel of its group): all kernel taps, summed images then positions
                Par.each(g.o * cg, oc -> {
                    int o = oc / cg, c = oc % cg, c0 = (o / og) * cg;
                    for (int u = 0; u < kd; u++)
                        for (int v = 0; v < kh; v++)
                            for (int t = 0; t < kw; t++) {
                                double sum = 0;
                                for (int n = 0; n < g.n; n++) {
                                    int xb = x.offset() + (n * g.c + c0 + c) * g.vol();
                                    int yb = gy.offset() + (n * g.o + o) * g.outVol();
                                    for (int i = 0; i < g.od; i++) {
                                        int zd = g.zd(i, u);
                                        if (zd < 0 || zd >= g.d) continue;
                                        for (int j = 0; j < g.oh; j++) {
                                            int zh = g.zh(j, v);
                                            if (zh < 0 || zh >= g.h) continue;
                                            for (int l = 0; l < g.ow; l++) {
                                                int zw = g.zw(l, t);
                                                if (zw < 0 || zw >= g.w) continue;
                                                sum += (double) gyd[yb + (i * g.oh + j) * g.ow + l]
                                                        * xd[xb + (zd * g.h + zh) * g.w + zw];
                                            }
                                        }
                                    }
                                }
                                int wi = gw.offset() + (o * cg + c) * g.kVol() + (u * kh + v) * kw + t;
                                K.put(gw.data(), wi, (float) sum, a.accParam(0));
                            }
                });
            }
            if (gx != null) {
                Buf wt = a.need(a.params(), 0, "param");
                float[] wd = wt.data(), gxd = gx.data();
                boolean acc = a.accIn(0);
                Par.each(g.n * g.c, nc -> {
                    int n = nc / g.c, ci = nc % g.c, grp = ci / cg, c = ci % cg;
                    int xb = gx.offset() + nc * g.vol();
                    for (int zd = 0; zd < g.d; zd++)
                        for (int zh = 0; zh < g.h; zh++)
                            for (int zw = 0; zw < g.w; zw++) {
                                float sum = 0f;
                                for (int o = grp * og; o < (grp + 1) * og; o++) {
                                    int yb = gy.offset() + (n * g.o + o) * g.outVol();
                                    int wb = wt.offset() + (o * cg + c) * g.kVol();
                                    for (int u = 0; u < kd; u++) {
                                        int i = outIndex(zd, u, g.s.d(), g.p.d(), g.dil.d(), g.od);
                                        if (i < 0) continue;
                                        for (int v = 0; v < kh; v++) {
                                            int j = outIndex(zh, v, g.s.h(), g.p.h(), g.dil.h(), g.oh);
                                            if (j < 0) continue;
                                            for (int t = 0; t < kw; t++) {
                                                int l = outIndex(zw, t, g.s.w(), g.p.w(), g.dil.w(), g.ow);
                                                if (l < 0) continue;
                                                sum += wd[wb + (u * kh + v) * kw + t]
                                                        * gyd[yb + (i * g.oh + j) * g.ow + l];
                                            }
                                        }
                                    }
                                }
                                K.put(gxd, xb + (zd * g.h + zh) * g.w + zw, sum, acc);
                            }
                });
            }
        }

        /** The output position whose window reads input z at kernel offset u, or -1 when there is none. */
        static int outIndex(int z, int u, int stride, int pad, int dil, int outSize) {
            int t = z + pad - u * dil;
            if (t < 0 || t % stride != 0) return -1;
            int i = t / stride;
            return i < outSize ? i : -1;
        }
    }

    /**
     * Max pooling; aux[0] = int64 argmax per output, the flat index (z*H + y)*W + x in the input volume (PyTorch's
     * convention; the first maximum wins, padding never does). Backward reads only the indices.
     */
    static final class MaxPool3dK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            MaxPool3d op = (MaxPool3d) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            Buf idx = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            Geo g = Geo.of(x.shape(), y.shape(), op.kernel(), op.stride(), op.padding(), Triple.of(1));
            float[] xd = x.data(), yd = y.data();
            Par.each(g.n * g.c, nc -> {
                int xb = x.offset() + nc * g.vol(), yb = nc * g.outVol();
                for (int i = 0; i < g.od; i++)
                    for (int j = 0; j < g.oh; j++)
                        for (int l = 0; l < g.ow; l++) {
                            float best = Float.NEGATIVE_INFINITY;
                            int arg = -1;
                            window:
                            for (int u = 0; u < g.k.d(); u++) {
                                int zd = g.zd(i, u);
                                if (zd < 0 || zd >= g.d) continue;
                                for (int v = 0; v < g.k.h(); v++) {
                                    int zh = g.zh(j, v);
                                    if (zh < 0 || zh >= g.h) continue;
                                    for (int t = 0; t < g.k.w(); t++) {
                                        int zw = g.zw(l, t);
                                        if (zw < 0 || zw >= g.w) continue;
                                        int at = (zd * g.h + zh) * g.w + zw;
                                        float val = xd[xb + at];
                                        if (arg < 0 || val > best || Float.isNaN(val)) {
                                            best = val;
                                            arg = at;
                                            if (Float.isNaN(val)) break window;
                                        }
                                    }
                                }
                            }
                            int q = yb + (i * g.oh + j) * g.ow + l;
                            yd[y.offset() + q] = best;
                            if (idx != null) idx.setLong(q, arg);
                        }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            PoolKernels.scatterToArgmax(a, "MaxPool3d", "volume");
        }
    }

    /** Average pooling; padding counts as zeros, so every window divides by kd*kh*kw. */
    static final class AvgPool3dK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            AvgPool3d op = (AvgPool3d) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            Geo g = Geo.of(x.shape(), y.shape(), op.kernel(), op.stride(), op.padding(), Triple.of(1));
            float inv = 1f / g.kVol();
            float[] xd = x.data(), yd = y.data();
            Par.each(g.n * g.c, nc -> {
                int xb = x.offset() + nc * g.vol(), yb = y.offset() + nc * g.outVol();
                for (int i = 0; i < g.od; i++)
                    for (int j = 0; j < g.oh; j++)
                        for (int l = 0; l < g.ow; l++) {
                            float sum = 0f;
                            for (int u = 0; u < g.k.d(); u++) {
                                int zd = g.zd(i, u);
                                if (zd < 0 || zd >= g.d) continue;
                                for (int v = 0; v < g.k.h(); v++) {
                                    int zh = g.zh(j, v);
                                    if (zh < 0 || zh >= g.h) continue;
                                    for (int t = 0; t < g.k.w(); t++) {
                                        int zw = g.zw(l, t);
                                        if (zw >= 0 && zw < g.w) sum += xd[xb + (zd * g.h + zh) * g.w + zw];
                                    }
                                }
                            }
                            yd[yb + (i * g.oh + j) * g.ow + l] = sum * inv;
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
            AvgPool3d op = (AvgPool3d) a.node().op();
            Geo g = Geo.of(gx.shape(), gy.shape(), op.kernel(), op.stride(), op.padding(), Triple.of(1));
            float inv = 1f / g.kVol();
            float[] gxd = gx.data(), gyd = gy.data();
            Par.each(g.n * g.c, nc -> {
                int xb = gx.offset() + nc * g.vol(), yb = gy.offset() + nc * g.outVol();
                for (int i = 0; i < g.od; i++)
                    for (int j = 0; j < g.oh; j++)
                        for (int l = 0; l < g.ow; l++) {
                            float gv = gyd[yb + (i * g.oh + j) * g.ow + l] * inv;
                            for (int u = 0; u < g.k.d(); u++) {
                                int zd = g.zd(i, u);
                                if (zd < 0 || zd >= g.d) continue;
                                for (int v = 0; v < g.k.h(); v++) {
                                    int zh = g.zh(j, v);
                                    if (zh < 0 || zh >= g.h) continue;
                                    for (int t = 0; t < g.k.w(); t++) {
                                        int zw = g.zw(l, t);
                                        if (zw >= 0 && zw < g.w) gxd[xb + (zd * g.h + zh) * g.w + zw] += gv;
                                    }
                                }
                            }
                        }
            });
        }
    }
}

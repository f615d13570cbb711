package memplan.backend.cpu;

import memplan.backend.cpu.Spatial3dKernels.Conv3dK;
import memplan.backend.cpu.Spatial3dKernels.Geo;
import memplan.ops.ConvTranspose3d;

/**
 * ConvTranspose3d by direct loops (the adjoint of Conv3d's, as Spatial3dKernels computes Conv3d): each output
 * element gathers the input elements whose kernel patch covers it; backward computes the input gradient as a Conv3d
 * of the output gradient and the weight gradient per (in, out) channel pair. Each element is written by one task and
 * summed in a fixed order, so results do not depend on the thread count.
 */
final class ConvTranspose3dKernel implements CpuKernel {
    @Override
    public void forward(ForwardArgs a) {
        ConvTranspose3d op = (ConvTranspose3d) a.node().op();
        Buf x = a.in()[0], y = a.out()[0], wt = a.params()[0];
        Buf b = op.bias() ? a.params()[1] : null;
        Geo g = Geo.of(x.shape(), y.shape(), op.kernel(), op.stride(), op.padding(), op.dilation());
        int cg = g.c() / op.groups(), og = g.o() / op.groups(), kd = g.k().d(), kh = g.k().h(), kw = g.k().w();
        float[] xd = x.data(), yd = y.data(), wd = wt.data();
        Par.each(g.n() * g.o(), no -> {
            int n = no / g.o(), o = no % g.o(), c0 = (o / og) * cg, oo = o % og;
            int yb = y.offset() + no * g.outVol();
            float bias = b == null ? 0f : b.get(o);
            for (int z = 0; z < g.od(); z++)
                for (int q = 0; q < g.oh(); q++)
                    for (int r = 0; r < g.ow(); r++) {
                        float sum = 0f;
                        for (int c = 0; c < cg; c++) {
                            int xb = x.offset() + (n * g.c() + c0 + c) * g.vol();
                            int wb = wt.offset() + ((c0 + c) * og + oo) * g.kVol();
                            for (int u = 0; u < kd; u++) {
                                int i = Conv3dK.outIndex(z, u, g.s().d(), g.p().d(), g.dil().d(), g.d());
                                if (i < 0) continue;
                                for (int v = 0; v < kh; v++) {
                                    int j = Conv3dK.outIndex(q, v, g.s().h(), g.p().h(), g.dil().h(), g.h());
                                    if (j < 0) continue;
                                    for (int t = 0; t < kw; t++) {
                                        int l = Conv3dK.outIndex(r, t, g.s().w(), g.p().w(), g.dil().w(), g.w());
                                        if (l < 0) continue;
                                        sum += wd[wb + (u * kh + v) * kw + t] * xd[xb + (i * g.h() + j) * g.w() + l];
                                    }
                                }
                            }
                        }
                        yd[yb + (z * g.oh() + q) * g.ow() + r] = sum + bias;
                    }
        });
    }

    @Override
    public void backward(BackwardArgs a) {
        ConvTranspose3d op = (ConvTranspose3d) a.node().op();
        Geo g = Geo.of(a.node().inShapes().get(0), a.node().outShapes().get(0), op.kernel(), op.stride(),
                op.padding(), op.dilation());
        Buf gy = a.gradOut(0), gx = a.gradIn(0), gw = a.gradParam(0), gb = op.bias() ? a.gradParam(1) : null;
        if (K.zeroWithoutGradient(a, gy, gx, gw, gb)) return;
        int cg = g.c() / op.groups(), og = g.o() / op.groups(), kd = g.k().d(), kh = g.k().h(), kw = g.k().w();
        float[] gyd = gy.data();
        if (gb != null) Spatial3dKernels.biasGradient(g, gy, gb, a.accParam(1));
        if (gw != null) {
            Buf x = a.need(a.in(), 0, "input");
            float[] xd = x.data();
            // one task per (in channel, out channel of its group): all taps, summed over images then positions
            Par.each(g.c() * og, co -> {
                int c = co / og, oo = co % og, o = (c / cg) * og + oo;
                for (int u = 0; u < kd; u++)
                    for (int v = 0; v < kh; v++)
                        for (int t = 0; t < kw; t++) {
                            double sum = 0;
                            for (int n = 0; n < g.n(); n++) {
                                int xb = x.offset() + (n * g.c() + c) * g.vol();
                                int yb = gy.offset() + (n * g.o() + o) * g.outVol();
                                for (int i = 0; i < g.d(); i++) {
                                    int z = g.zd(i, u);
                                    if (z < 0 || z >= g.od()) continue;
                                    for (int j = 0; j < g.h(); j++) {
                                        int q = g.zh(j, v);
                                        if (q < 0 || q >= g.oh()) continue;
                                        for (int l = 0; l < g.w(); l++) {
                                            int r = g.zw(l, t);
                                            if (r < 0 || r >= g.ow()) continue;
                                            sum += (double) xd[xb + (i * g.h() + j) * g.w() + l]
                                                    * gyd[yb + (z * g.oh() + q) * g.ow() + r];
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
            Par.each(g.n() * g.c(), nc -> {
                int n = nc / g.c(), c = nc % g.c(), o0 = (c / cg) * og;
                int xb = gx.offset() + nc * g.vol();
                for (int i = 0; i < g.d(); i++)
                    for (int j = 0; j < g.h(); j++)
                        for (int l = 0; l < g.w(); l++) {
                            float sum = 0f;
                            for (int oo = 0; oo < og; oo++) {
                                int yb = gy.offset() + (n * g.o() + o0 + oo) * g.outVol();
                                int wb = wt.offset() + (c * og + oo) * g.kVol();
                                for (int u = 0; u < kd; u++) {
                                    int z = g.zd(i, u);
                                    if (z < 0 || z >= g.od()) continue;
                                    for (int v = 0; v < kh; v++) {
                                        int q = g.zh(j, v);
                                        if (q < 0 || q >= g.oh()) continue;
                                        for (int t = 0; t < kw; t++) {
                                            int r = g.zw(l, t);
                                            if (r < 0 || r >= g.ow()) continue;
                                            sum += wd[wb + (u * kh + v) * kw + t]
                                                    * gyd[yb + (z * g.oh() + q) * g.ow() + r];
                                        }
                                    }
                                }
                            }
                            K.put(gxd, xb + (i * g.h() + j) * g.w() + l, sum, acc);
                        }
            });
        }
    }
}

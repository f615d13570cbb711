package memplan.cuda;

import memplan.backend.Bindings;
import memplan.graph.Node;
import memplan.ir.Shape;
import memplan.ops.Conv2d;
import memplan.ops.Conv3d;
import memplan.ops.ConvTranspose2d;
import memplan.ops.ConvTranspose3d;
import memplan.ops.LSTMCell;
import memplan.ops.Linear;
import memplan.ops.MatMul;
import memplan.ops.Pair;
import memplan.ops.Triple;

import static memplan.cuda.CudaOps.*;
import static memplan.cuda.Kernels.*;

/**
 * The GEMM-like ops on the GPU (gemm.cu, conv.cu, lstm.cu): Linear, MatMul, Conv2d (im2col + GEMM per image and
 * group), ConvTranspose2d (GEMM + col2im, the CPU kernel's formulation), and LSTMCell's products. Parameter gradients
 * are computed before input gradients.
 */
final class CudaGemmOps {
    static final int MAX_GRID_YZ = 65535;
    private final KernelHost be;

    CudaGemmOps(KernelHost be) {
        this.be = be;
    }

    private Object p(long offset) {
        return be.dev(offset);
    }

    /** Rows x cols reduction launch shape for colsum-like kernels: block (32, 8). */
    void colLaunch(Spec k, int cols, Object... args) {
        be.launch(k, (cols + 31) / 32, 1, 1, 32, 8, 1, 0, args);
    }

    /**
     * C = alpha op(A) op(B) + beta C over {@code batch} matrices (row-major, strides in elements, offsets in bytes);
     * splits grids that exceed CUDA's y/z limits.
     */
    void gemm(boolean ta, boolean tb, int m, int n, int k, float alpha, long a, int lda, long sA, long b, int ldb,
              long sB, float beta, long c, int ldc, long sC, int batch) {
        if (m <= 0 || n <= 0 || batch <= 0) return;
        if (k <= 0) {   // empty product: C = beta C
            if (beta == 0f) for (int z = 0; z < batch; z++)
                for (int r = 0; r < m; r++) be.memsetZero(c + 4L * (z * sC + (long) r * ldc), 4L * n);
            return;
        }
        Spec spec = ta ? (tb ? SGEMM_TT : SGEMM_TN) : (tb ? SGEMM_NT : SGEMM_NN);
        int gx = (n + 63) / 64;
        long rowsPerChunk = (long) MAX_GRID_YZ * 64;
        for (int z0 = 0; z0 < batch; z0 += MAX_GRID_YZ) {
            int nz = Math.min(MAX_GRID_YZ, batch - z0);
            for (long m0 = 0; m0 < m; m0 += rowsPerChunk) {
                int mm = (int) Math.min(rowsPerChunk, m - m0);
                long aOff = a + 4L * (z0 * sA + (ta ? m0 : m0 * lda));
                long cOff = c + 4L * (z0 * sC + m0 * ldc);
                long bOff = b + 4L * z0 * sB;
                be.launch(spec, gx, (mm + 63) / 64, nz, 256, 1, 1, 0, mm, n, k, alpha, p(aOff), lda, sA,
                        p(bOff), ldb, sB, beta, p(cOff), ldc, sC);
            }
        }
    }

    // ------------------------------------------------------------------ Conv2d (im2col + GEMM per image)

    private static boolean pointwise(Conv2d c) {
        return c.kernel().h() == 1 && c.kernel().w() == 1 && c.stride().h() == 1 && c.stride().w() == 1
                && c.padding().h() == 0 && c.padding().w() == 0;
    }

    private void im2col(Conv2d c, long x, long col, int C, int H, int W, int OH, int OW) {
        im2col(x, col, C, H, W, c.kernel(), c.stride(), c.padding(), c.dilation(), OH, OW);
    }

    /** col [C kh kw, OH OW] = the patches of image x [C, H, W] (one image). */
    private void im2col(long x, long col, int C, int H, int W, Pair k, Pair s, Pair pad, Pair d, int OH, int OW) {
        long total = (long) C * k.h() * k.w() * OH * OW;
        be.elementwise(IM2COL, total, p(x), p(col), C, H, W, k.h(), k.w(), s.h(), s.w(), pad.h(), pad.w(), d.h(), d.w(),
                OH, OW);
    }

    void convFwd(Node node, Conv2d c, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), H = xs.dim(2), W = xs.dim(3), O = ys.dim(1), OH = ys.dim(2), OW = ys.dim(3);
        int g = c.groups(), Cg = C / g, Og = O / g, kk = c.kernel().h() * c.kernel().w(), ohw = OH * OW;
        long x = b.in()[0], y = b.out()[0], w = param(b, 0);
        long xImg = (long) C * H * W, yImg = (long) O * ohw;
        if (pointwise(c) && g == 1) {   // all images at once: y_n = W x_n
            gemm(false, false, O, ohw, C, 1f, w, C, 0, x, ohw, xImg, 0f, y, ohw, yImg, N);
        } else {
            boolean pw = pointwise(c);
            long ws = pw ? -1 : need(b.workspace(), node, "the im2col workspace");
            for (int n = 0; n < N; n++) {
                long xn = x + 4L * n * xImg, yn = y + 4L * n * yImg;
                long col = xn;
                if (!pw) {
                    im2col(c, xn, ws, C, H, W, OH, OW);
                    col = ws;
                }
                gemm(false, false, Og, ohw, Cg * kk, 1f, w, Cg * kk, (long) Og * Cg * kk, col, ohw,
                        (long) Cg * kk * ohw,
                        0f, yn, ohw, (long) Og * ohw, g);
            }
        }
        if (c.bias()) be.elementwise(ADD_BIAS_NCHW, (long) N * yImg, p(y), p(param(b, 1)), (long) N * yImg, O, ohw);
    }

    void convBwd(Node node, Conv2d c, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), H = xs.dim(2), W = xs.dim(3), O = ys.dim(1), OH = ys.dim(2), OW = ys.dim(3);
        int g = c.groups(), Cg = C / g, Og = O / g, kh = c.kernel().h(), kw = c.kernel().w(), kk = kh * kw,
                ohw = OH * OW;
        long x = b.in()[0], w = param(b, 0), gy = b.gradOut()[0], gx = b.gradIn()[0];
        long gw = gradParam(b, 0), gb = c.bias() ? gradParam(b, 1) : -1;
        long xImg = (long) C * H * W, yImg = (long) O * ohw;
        if (gb >= 0) be.launch(BIAS_GRAD_NCHW, O, 1, 1, 256, 1, 1, 0, p(gy), p(gb), N, O, ohw, flag(accParam(b, 1)));
        boolean pw = pointwise(c);
        long ws = pw ? -1 : need(b.workspace(), node, "the im2col workspace");
        if (gw >= 0) need(x, node, "the input (saved for backward)");
        for (int n = 0; n < N; n++) {
            long xn = x + 4L * n * xImg, gyn = gy + 4L * n * yImg;
            if (gw >= 0) {
                long col = xn;
                if (!pw) {
                    im2col(c, xn, ws, C, H, W, OH, OW);
                    col = ws;
                }
                float beta = (n == 0 && !accParam(b, 0)) ? 0f : 1f;
                gemm(false, true, Og, Cg * kk, ohw, 1f, gyn, ohw, (long) Og * ohw, col, ohw, (long) Cg * kk * ohw,
                        beta, gw, Cg * kk, (long) Og * Cg * kk, g);
            }
            if (gx >= 0) {
                long gxn = gx + 4L * n * xImg;
                if (pw) {
                    gemm(true, false, Cg, ohw, Og, 1f, w, Cg, (long) Og * Cg, gyn, ohw, (long) Og * ohw,
                            accIn(b, 0) ? 1f : 0f, gxn, ohw, (long) Cg * ohw, g);
                } else {
                    gemm(true, false, Cg * kk, ohw, Og, 1f, w, Cg * kk, (long) Og * Cg * kk, gyn, ohw, (long) Og * ohw,
                            0f, ws, ohw, (long) Cg * kk * ohw, g);
                    be.elementwise(COL2IM, xImg, p(ws), p(gxn), C, H, W, kh, kw, c.stride().h(), c.stride().w(),
                            c.padding().h(), c.padding().w(), c.dilation().h(), c.dilation().w(), OH, OW, flag(accIn(b,
                                    0)));
                }
            }
        }
    }

    // ------------------------------------------------------------------ Conv3d (vol2col + GEMM per image)

    private static boolean pointwise(Conv3d c) {
        return c.kernelVolume() == 1 && c.stride().equals(Triple.of(1)) && c.padding().equals(Triple.of(0));
    }

    /** The 19 geometry arguments of vol2col and col2vol: C, D, H, W, kernel, stride, padding, dilation, OD, OH, OW. */
    private static Object[] geo3d(Conv3d c, Shape xs, Shape ys) {
        Triple k = c.kernel(), s = c.stride(), p = c.padding(), d = c.dilation();
        return new Object[]{xs.dim(1), xs.dim(2), xs.dim(3), xs.dim(4), k.d(), k.h(), k.w(), s.d(), s.h(), s.w(),
                p.d(), p.h(), p.w(), d.d(), d.h(), d.w(), ys.dim(2), ys.dim(3), ys.dim(4)};
    }

    private static Object[] args(Object a, Object b, Object[] geo, Object... tail) {
        Object[] out = new Object[2 + geo.length + tail.length];
        out[0] = a;
        out[1] = b;
        System.arraycopy(geo, 0, out, 2, geo.length);
        System.arraycopy(tail, 0, out, 2 + geo.length, tail.length);
        return out;
    }

    void conv3dFwd(Node node, Conv3d c, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), O = ys.dim(1), g = c.groups(), Cg = C / g, Og = O / g, kk = c.kernelVolume();
        int ovol = ys.dim(2) * ys.dim(3) * ys.dim(4);
        long x = b.in()[0], y = b.out()[0], w = param(b, 0);
        long xImg = (long) C * xs.dim(2) * xs.dim(3) * xs.dim(4), yImg = (long) O * ovol;
        boolean pw = pointwise(c);
        long ws = pw ? -1 : need(b.workspace(), node, "the vol2col workspace");
        Object[] geo = geo3d(c, xs, ys);
        for (int n = 0; n < N; n++) {
            long xn = x + 4L * n * xImg, yn = y + 4L * n * yImg, col = xn;
            if (!pw) {
                be.elementwise(VOL2COL, (long) C * kk * ovol, args(p(xn), p(ws), geo));
                col = ws;
            }
            gemm(false, false, Og, ovol, Cg * kk, 1f, w, Cg * kk, (long) Og * Cg * kk, col, ovol,
                    (long) Cg * kk * ovol, 0f, yn, ovol, (long) Og * ovol, g);
        }
        if (c.bias()) be.elementwise(ADD_BIAS_NCHW, (long) N * yImg, p(y), p(param(b, 1)), (long) N * yImg, O, ovol);
    }

    void conv3dBwd(Node node, Conv3d c, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), O = ys.dim(1), g = c.groups(), Cg = C / g, Og = O / g, kk = c.kernelVolume();
        int ovol = ys.dim(2) * ys.dim(3) * ys.dim(4);
        long x = b.in()[0], w = param(b, 0), gy = b.gradOut()[0], gx = b.gradIn()[0];
        long gw = gradParam(b, 0), gb = c.bias() ? gradParam(b, 1) : -1;
        long xImg = (long) C * xs.dim(2) * xs.dim(3) * xs.dim(4), yImg = (long) O * ovol;
        if (gb >= 0) be.launch(BIAS_GRAD_NCHW, O, 1, 1, 256, 1, 1, 0, p(gy), p(gb), N, O, ovol, flag(accParam(b, 1)));
        boolean pw = pointwise(c);
        long ws = pw ? -1 : need(b.workspace(), node, "the vol2col workspace");
        if (gw >= 0) need(x, node, "the input (saved for backward)");
        Object[] geo = geo3d(c, xs, ys);
        for (int n = 0; n < N; n++) {
            long xn = x + 4L * n * xImg, gyn = gy + 4L * n * yImg;
            if (gw >= 0) {
                long col = xn;
                if (!pw) {
                    be.elementwise(VOL2COL, (long) C * kk * ovol, args(p(xn), p(ws), geo));
                    col = ws;
                }
                float beta = (n == 0 && !accParam(b, 0)) ? 0f : 1f;
                gemm(false, true, Og, Cg * kk, ovol, 1f, gyn, ovol, (long) Og * ovol, col, ovol,
                        (long) Cg * kk * ovol, beta, gw, Cg * kk, (long) Og * Cg * kk, g);
            }
            if (gx >= 0) {
                long gxn = gx + 4L * n * xImg;
                if (pw) {
                    gemm(true, false, Cg, ovol, Og, 1f, w, Cg, (long) Og * Cg, gyn, ovol, (long) Og * ovol,
                            accIn(b, 0) ? 1f : 0f, gxn, ovol, (long) Cg * ovol, g);
                } else {
                    gemm(true, false, Cg * kk, ovol, Og, 1f, w, Cg * kk, (long) Og * Cg * kk, gyn, ovol,
                            (long) Og * ovol, 0f, ws, ovol, (long) Cg * kk * ovol, g);
                    be.elementwise(COL2VOL, xImg, args(p(ws), p(gxn), geo, flag(accIn(b, 0))));
                }
            }
        }
    }

    // ------------------------------------------------------------------ ConvTranspose3d (GEMM + col2vol per image)

    /**
     * The vol2col/col2vol geometry of the Conv3d whose adjoint this is: that conv reads y [O, OD, OH, OW] and
     * writes x's volume [D, H, W].
     */
    private static Object[] geoTransposed3d(ConvTranspose3d c, Shape xs, Shape ys) {
        Triple k = c.kernel(), s = c.stride(), p = c.padding(), d = c.dilation();
        return new Object[]{ys.dim(1), ys.dim(2), ys.dim(3), ys.dim(4), k.d(), k.h(), k.w(), s.d(), s.h(), s.w(),
                p.d(), p.h(), p.w(), d.d(), d.h(), d.w(), xs.dim(2), xs.dim(3), xs.dim(4)};
    }

    /**
     * As ConvTranspose2d in 3-D: per image and group col [og kd kh kw, D H W] = W_g^T x_g, then col2vol gathers it
     * into y; the bias is added last. Backward: vol2col of gy gives gcol, gx_g = W_g gcol_g, gW_g (+)= x_g gcol_g^T.
     */
    void convTranspose3dFwd(Node node, ConvTranspose3d c, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), vol = xs.dim(2) * xs.dim(3) * xs.dim(4), O = ys.dim(1);
        int ovol = ys.dim(2) * ys.dim(3) * ys.dim(4), g = c.groups(), cg = C / g, rowsG = O / g * c.kernelVolume();
        long x = b.in()[0], y = b.out()[0], w = param(b, 0), col = need(b.workspace(), node, "the col2vol workspace");
        long yImg = (long) O * ovol;
        Object[] geo = geoTransposed3d(c, xs, ys);
        for (int n = 0; n < N; n++) {
            gemm(true, false, rowsG, vol, cg, 1f, w, rowsG, (long) cg * rowsG, x + 4L * n * C * vol, vol,
                    (long) cg * vol, 0f, col, vol, (long) rowsG * vol, g);
            be.elementwise(COL2VOL, yImg, args(p(col), p(y + 4L * n * yImg), geo, 0));
        }
        if (c.bias()) be.elementwise(ADD_BIAS_NCHW, N * yImg, p(y), p(param(b, 1)), N * yImg, O, ovol);
    }

    void convTranspose3dBwd(Node node, ConvTranspose3d c, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), vol = xs.dim(2) * xs.dim(3) * xs.dim(4), O = ys.dim(1);
        int ovol = ys.dim(2) * ys.dim(3) * ys.dim(4), g = c.groups(), cg = C / g, rowsG = O / g * c.kernelVolume();
        long gy = b.gradOut()[0], gx = b.gradIn()[0], gw = gradParam(b, 0), gb = c.bias() ? gradParam(b, 1) : -1;
        long yImg = (long) O * ovol;
        if (gb >= 0) be.launch(BIAS_GRAD_NCHW, O, 1, 1, 256, 1, 1, 0, p(gy), p(gb), N, O, ovol, flag(accParam(b,
                1)));
        if (gx < 0 && gw < 0) return;
        long x = gw >= 0 ? need(b.in()[0], node, "the input (saved for backward)") : -1;
        long w = gx >= 0 ? need(param(b, 0), node, "the weight") : -1;
        long col = need(b.workspace(), node, "the vol2col workspace");
        Object[] geo = geoTransposed3d(c, xs, ys);
        for (int n = 0; n < N; n++) {
            be.elementwise(VOL2COL, (long) O * c.kernelVolume() * vol, args(p(gy + 4L * n * yImg), p(col), geo));
            long xn = 4L * n * C * vol;
            if (gx >= 0)
                gemm(false, false, cg, vol, rowsG, 1f, w, rowsG, (long) cg * rowsG, col, vol, (long) rowsG * vol,
                        accIn(b, 0) ? 1f : 0f, gx + xn, vol, (long) cg * vol, g);
            if (gw >= 0)
                gemm(false, true, cg, rowsG, vol, 1f, x + xn, vol, (long) cg * vol, col, vol, (long) rowsG * vol,
                        n > 0 || accParam(b, 0) ? 1f : 0f, gw, rowsG, (long) cg * rowsG, g);
        }
    }

    // ------------------------------------------------------------------ ConvTranspose2d (GEMM + col2im per image)

    /**
     * The adjoint of Conv2d, as the CPU kernel: per image and group, col [og kh kw, H W] = W_g^T x_g, then col2im
     * scatters (by gathering, no atomics) into y [O, OH, OW]; the bias is added last. Backward: im2col of gy gives
     * gcol, gx_g = W_g gcol_g and gW_g (+)= x_g gcol_g^T; the bias gradient sums gy per channel.
     */
    void convTransposeFwd(Node node, ConvTranspose2d c, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), hw = xs.dim(2) * xs.dim(3), O = ys.dim(1), OH = ys.dim(2), OW = ys.dim(3);
        int g = c.groups(), cg = C / g, rowsG = O / g * c.kernel().h() * c.kernel().w();
        long x = b.in()[0], y = b.out()[0], w = param(b, 0), col = need(b.workspace(), node, "the col2im workspace");
        long yImg = (long) O * OH * OW;
        for (int n = 0; n < N; n++) {
            gemm(true, false, rowsG, hw, cg, 1f, w, rowsG, (long) cg * rowsG, x + 4L * n * C * hw, hw, (long) cg * hw,
                    0f,
                    col, hw, (long) rowsG * hw, g);
            be.elementwise(COL2IM, yImg, p(col), p(y + 4L * n * yImg), O, OH, OW, c.kernel().h(), c.kernel().w(),
                    c.stride().h(), c.stride().w(), c.padding().h(), c.padding().w(), c.dilation().h(),
                            c.dilation().w(),
                    xs.dim(2), xs.dim(3), 0);
        }
        if (c.bias()) be.elementwise(ADD_BIAS_NCHW, N * yImg, p(y), p(param(b, 1)), N * yImg, O, OH * OW);
    }

    void convTransposeBwd(Node node, ConvTranspose2d c, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), hw = xs.dim(2) * xs.dim(3), O = ys.dim(1), OH = ys.dim(2), OW = ys.dim(3);
        int g = c.groups(), cg = C / g, rowsG = O / g * c.kernel().h() * c.kernel().w();
        long gy = b.gradOut()[0], gx = b.gradIn()[0], gw = gradParam(b, 0), gb = c.bias() ? gradParam(b, 1) : -1;
        long yImg = (long) O * OH * OW;
        if (gb >= 0) be.launch(BIAS_GRAD_NCHW, O, 1, 1, 256, 1, 1, 0, p(gy), p(gb), N, O, OH * OW, flag(accParam(b,
                1)));
        if (gx < 0 && gw < 0) return;
        long x = gw >= 0 ? need(b.in()[0], node, "the input (saved for backward)") : -1;
        long w = gx >= 0 ? need(param(b, 0), node, "the weight") : -1;
        long col = need(b.workspace(), node, "the im2col workspace");
        for (int n = 0; n < N; n++) {
            im2col(gy + 4L * n * yImg, col, O, OH, OW, c.kernel(), c.stride(), c.padding(), c.dilation(), xs.dim(2),
                    xs.dim(3));
            long xn = 4L * n * C * hw;
            if (gx >= 0)
                gemm(false, false, cg, hw, rowsG, 1f, w, rowsG, (long) cg * rowsG, col, hw, (long) rowsG * hw,
                        accIn(b, 0) ? 1f : 0f, gx + xn, hw, (long) cg * hw, g);
            if (gw >= 0)
                gemm(false, true, cg, rowsG, hw, 1f, x + xn, hw, (long) cg * hw, col, hw, (long) rowsG * hw,
                        n > 0 || accParam(b, 0) ? 1f : 0f, gw, rowsG, (long) cg * rowsG, g);
        }
    }

    // ------------------------------------------------------------------ Linear, MatMul

    void linearFwd(Node node, Linear l, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int in = xs.dim(-1), out = l.outFeatures();
        int rows = i32(xs.numel() / Math.max(in, 1));
        long y = b.out()[0];
        gemm(false, true, rows, out, in, 1f, b.in()[0], in, 0, param(b, 0), in, 0, 0f, y, out, 0, 1);
        if (l.bias()) be.elementwise(ADD_BIAS_ROWS, (long) rows * out, p(y), p(param(b, 1)), (long) rows * out, out);
    }

    void linearBwd(Node node, Linear l, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int in = xs.dim(-1), out = l.outFeatures();
        int rows = i32(xs.numel() / Math.max(in, 1));
        long gy = b.gradOut()[0], gx = b.gradIn()[0], gw = gradParam(b, 0), gb = l.bias() ? gradParam(b, 1) : -1;
        if (gw >= 0)
            gemm(true, false, out, in, rows, 1f, gy, out, 0, need(b.in()[0], node, "the input"), in, 0,
                    accParam(b, 0) ? 1f : 0f, gw, in, 0, 1);
        if (gb >= 0) colLaunch(COLSUM, out, p(gy), p(gb), (long) rows, out, flag(accParam(b, 1)));
        if (gx >= 0) gemm(false, false, rows, in, out, 1f, gy, out, 0, param(b, 0), in, 0, accIn(b, 0) ? 1f : 0f, gx,
                in, 0, 1);
    }

    void matmulFwd(Node node, MatMul mm, Bindings b) {
        Shape as = node.inShapes().get(0), bs = node.inShapes().get(1);
        int r = as.rank(), m = as.dim(-2), k = as.dim(-1), n = node.outShapes().get(0).dim(-1);
        int batch = i32(as.numel(0, r - 2));
        boolean tb = mm.transposeB();
        gemm(false, tb, m, n, k, 1f, b.in()[0], k, (long) m * k, b.in()[1], tb ? k : n, (long) k * n, 0f, b.out()[0], n,
                (long) m * n, batch);
    }

    void matmulBwd(Node node, MatMul mm, Bindings b) {
        Shape as = node.inShapes().get(0);
        int r = as.rank(), m = as.dim(-2), k = as.dim(-1), n = node.outShapes().get(0).dim(-1);
        int batch = i32(as.numel(0, r - 2));
        boolean tb = mm.transposeB();
        long a = b.in()[0], bm = b.in()[1], gy = b.gradOut()[0], ga = b.gradIn()[0], gb = b.gradIn()[1];
        long sA = (long) m * k, sB = (long) k * n, sC = (long) m * n;
        if (gb >= 0) {
            need(a, node, "input 0");
            if (!tb) gemm(true, false, k, n, m, 1f, a, k, sA, gy, n, sC, accIn(b, 1) ? 1f : 0f, gb, n, sB, batch);
            else gemm(true, false, n, k, m, 1f, gy, n, sC, a, k, sA, accIn(b, 1) ? 1f : 0f, gb, k, sB, batch);
        }
        if (ga >= 0) {
            need(bm, node, "input 1");
            if (!tb) gemm(false, true, m, k, n, 1f, gy, n, sC, bm, n, sB, accIn(b, 0) ? 1f : 0f, ga, k, sA, batch);
            else gemm(false, false, m, k, n, 1f, gy, n, sC, bm, k, sB, accIn(b, 0) ? 1f : 0f, ga, k, sA, batch);
        }
    }

    // ------------------------------------------------------------------ LSTMCell

    void lstmFwd(Node node, LSTMCell l, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int n = xs.dim(0), in = xs.dim(1), h = l.hidden();
        long gates = need(aux(b, 0), node, "aux gates");
        gemm(false, true, n, 4 * h, in, 1f, b.in()[0], in, 0, param(b, 0), in, 0, 0f, gates, 4 * h, 0, 1);
        gemm(false, true, n, 4 * h, h, 1f, b.in()[1], h, 0, param(b, 1), h, 0, 1f, gates, 4 * h, 0, 1);
        be.elementwise(LSTM_FWD_PW, (long) n * h, p(gates), p(param(b, 2)), p(param(b, 3)), p(b.in()[2]), p(b.out()[1]),
                p(b.out()[0]), n, h);
    }

    void lstmBwd(Node node, LSTMCell l, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int n = xs.dim(0), in = xs.dim(1), h = l.hidden();
        long dg = need(aux(b, 0), node, "aux gates");   // becomes the gate gradients
        be.elementwise(LSTM_BWD_PW, (long) n * h, p(dg), p(need(b.in()[2], node, "c")), p(need(b.out()[1], node, "c'")),
                p(b.gradOut()[0]), p(b.gradOut().length > 1 ? b.gradOut()[1] : -1), p(b.gradIn()[2]), n, h,
                        flag(accIn(b, 2)));
        if (gradParam(b, 0) >= 0)
            gemm(true, false, 4 * h, in, n, 1f, dg, 4 * h, 0, need(b.in()[0], node, "x"), in, 0, accParam(b,
                    0) ? 1f : 0f,
                    gradParam(b, 0), in, 0, 1);
        if (gradParam(b, 1) >= 0)
            gemm(true, false, 4 * h, h, n, 1f, dg, 4 * h, 0, need(b.in()[1], node, "h"), h, 0, accParam(b, 1) ? 1f : 0f,
                    gradParam(b, 1), h, 0, 1);
        for (int pi = 2; pi <= 3; pi++)
            if (gradParam(b, pi) >= 0) colLaunch(COLSUM, 4 * h, p(dg), p(gradParam(b, pi)), (long) n, 4 * h,
                    flag(accParam(b, pi)));
        if (b.gradIn()[0] >= 0)
            gemm(false, false, n, in, 4 * h, 1f, dg, 4 * h, 0, param(b, 0), in, 0, accIn(b, 0) ? 1f : 0f,
                    b.gradIn()[0], in, 0, 1);
        if (b.gradIn()[1] >= 0)
            gemm(false, false, n, h, 4 * h, 1f, dg, 4 * h, 0, param(b, 1), h, 0, accIn(b, 1) ? 1f : 0f, b.gradIn()[1],
                    h, 0, 1);
    }
}

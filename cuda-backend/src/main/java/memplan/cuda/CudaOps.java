package memplan.cuda;

import memplan.backend.BackendException;
import memplan.backend.Bindings;
import memplan.backend.Codec;
import memplan.backend.cpu.CpuOptimizers;
import memplan.train.Optimizer;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Add;
import memplan.ops.Attention;
import memplan.ops.AvgPool2d;
import memplan.ops.BatchNorm2d;
import memplan.ops.Concat;
import memplan.ops.Conv2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Dropout;
import memplan.ops.Embedding;
import memplan.ops.GELU;
import memplan.ops.GlobalAvgPool;
import memplan.ops.Input;
import memplan.ops.LSTMCell;
import memplan.ops.LayerNorm;
import memplan.ops.Linear;
import memplan.ops.MatMul;
import memplan.ops.MaxPool2d;
import memplan.ops.MseLoss;
import memplan.ops.Mul;
import memplan.ops.Op;
import memplan.ops.ReLU;
import memplan.ops.Sigmoid;
import memplan.ops.Slice;
import memplan.ops.Softmax;
import memplan.ops.Tanh;
import memplan.ops.Transpose;
import memplan.ops.Upsample;

import static memplan.cuda.Kernels.*;

/**
 * Forward and backward of every op on the GPU. Offsets are bytes into the arena; shapes come from the node.
 * Parameter gradients are computed before input gradients, so an input gradient may share memory with the output
 * gradient for the elementwise ops. LSTMCell's backward turns its "gates" aux into gate gradients in place (the aux
 * is dead after this backward, and the op declares no backward workspace).
 */
final class CudaOps {
    private static final int MAX_GRID_YZ = 65535;
    private final KernelHost be;

    CudaOps(KernelHost be) {
        this.be = be;
    }

    // ------------------------------------------------------------------ dispatch

    void forward(Graph g, Node node, Bindings b, boolean training, boolean recompute, long seed) {
        Op op = node.op();
        if (op instanceof Input || op.isView()) return;
        checkFloat(g, node);
        if (op instanceof Conv2d c) convFwd(node, c, b);
        else if (op instanceof Linear l) linearFwd(node, l, b);
        else if (op instanceof MatMul m) matmulFwd(node, m, b);
        else if (op instanceof BatchNorm2d bn) batchNormFwd(node, bn, b, training, recompute);
        else if (op instanceof LayerNorm ln) layerNormFwd(node, ln, b);
        else if (op instanceof ReLU) unary(RELU_FWD, node, b);
        else if (op instanceof GELU) unary(GELU_FWD, node, b);
        else if (op instanceof Sigmoid) unary(SIGMOID_FWD, node, b);
        else if (op instanceof Tanh) unary(TANH_FWD, node, b);
        else if (op instanceof MaxPool2d mp) maxPoolFwd(node, mp, b);
        else if (op instanceof AvgPool2d ap) avgPoolFwd(node, ap, b);
        else if (op instanceof GlobalAvgPool) gapFwd(node, b);
        else if (op instanceof Upsample u) upsampleFwd(node, u, b);
        else if (op instanceof Add) binary(ADD_FWD, node, b);
        else if (op instanceof Mul) binary(MUL_FWD, node, b);
        else if (op instanceof Concat c) concatFwd(node, c, b);
        else if (op instanceof Slice s) sliceFwd(node, s, b);
        else if (op instanceof Transpose t) transposeFwd(node, t, b);
        else if (op instanceof Dropout d) dropoutFwd(node, d, b, training, seed);
        else if (op instanceof Embedding e) embeddingFwd(g, node, e, b);
        else if (op instanceof Softmax) softmaxFwd(node, b);
        else if (op instanceof Attention a) attentionFwd(node, a, b);
        else if (op instanceof LSTMCell l) lstmFwd(node, l, b);
        else if (op instanceof CrossEntropy ce) crossEntropyFwd(g, node, ce, b);
        else if (op instanceof MseLoss) mseFwd(node, b);
        else throw unsupported(node);
    }

    void backward(Graph g, Node node, Bindings b) {
        Op op = node.op();
        if (op instanceof Input || op.isView()) return;
        checkFloat(g, node);
        boolean loss = op instanceof CrossEntropy || op instanceof MseLoss;
        boolean anyGradOut = false;
        for (long o : b.gradOut()) anyGradOut |= o >= 0;
        if (!anyGradOut && !loss) {   // no gradient flows in: the gradients it would write are zero
            zeroGrads(node, b);
            return;
        }
        if (op instanceof Conv2d c) convBwd(node, c, b);
        else if (op instanceof Linear l) linearBwd(node, l, b);
        else if (op instanceof MatMul m) matmulBwd(node, m, b);
        else if (op instanceof BatchNorm2d) batchNormBwd(node, b);
        else if (op instanceof LayerNorm) layerNormBwd(node, b);
        else if (op instanceof ReLU) unaryBwd(RELU_BWD, node, b, b.out()[0]);
        else if (op instanceof GELU) unaryBwd(GELU_BWD, node, b, b.in()[0]);
        else if (op instanceof Sigmoid) unaryBwd(SIGMOID_BWD, node, b, b.out()[0]);
        else if (op instanceof Tanh) unaryBwd(TANH_BWD, node, b, b.out()[0]);
        else if (op instanceof MaxPool2d mp) maxPoolBwd(node, mp, b);
        else if (op instanceof AvgPool2d ap) avgPoolBwd(node, ap, b);
        else if (op instanceof GlobalAvgPool) gapBwd(node, b);
        else if (op instanceof Upsample u) upsampleBwd(node, u, b);
        else if (op instanceof Add) addBwd(node, b);
        else if (op instanceof Mul) mulBwd(node, b);
        else if (op instanceof Concat c) concatBwd(node, c, b);
        else if (op instanceof Slice s) sliceBwd(node, s, b);
        else if (op instanceof Transpose t) transposeBwd(node, t, b);
        else if (op instanceof Dropout d) dropoutBwd(node, d, b);
        else if (op instanceof Embedding e) embeddingBwd(g, node, e, b);
        else if (op instanceof Softmax) softmaxBwd(node, b);
        else if (op instanceof Attention a) attentionBwd(node, a, b);
        else if (op instanceof LSTMCell l) lstmBwd(node, l, b);
        else if (op instanceof CrossEntropy ce) crossEntropyBwd(g, node, ce, b);
        else if (op instanceof MseLoss) mseBwd(node, b);
        else throw unsupported(node);
    }

    private static BackendException unsupported(Node node) {
        return new BackendException("the CUDA backend has no kernel for op " + node.op().type() + " (node " + node.name() + ")");
    }

    private static void checkFloat(Graph g, Node node) {
        if (g.floatType() != DType.FP32)
            throw new BackendException("the CUDA backend runs fp32 models only; " + node.name() + " is " + g.floatType());
    }

    private void zeroGrads(Node node, Bindings b) {
        for (int i = 0; i < b.gradIn().length; i++)
            if (b.gradIn()[i] >= 0 && !accIn(b, i)) be.memsetZero(b.gradIn()[i], 4 * node.inShapes().get(i).numel());
        if (b.gradParams() == null) return;
        for (int p = 0; p < b.gradParams().length; p++)
            if (b.gradParams()[p] >= 0 && !accParam(b, p))
                be.memsetZero(b.gradParams()[p], 4 * node.op().params(node.inShapes()).get(p).shape().numel());
    }

    // ------------------------------------------------------------------ helpers

    private static boolean accIn(Bindings b, int i) {
        return b.accumulateIn() != null && b.accumulateIn()[i];
    }

    private static boolean accParam(Bindings b, int p) {
        return b.accumulateParams() != null && b.accumulateParams()[p];
    }

    private static int flag(boolean v) {
        return v ? 1 : 0;
    }

    private static long param(Bindings b, int p) {
        return b.params() != null && p < b.params().length ? b.params()[p] : -1;
    }

    private static long gradParam(Bindings b, int p) {
        return b.gradParams() != null && p < b.gradParams().length ? b.gradParams()[p] : -1;
    }

    private static long aux(Bindings b, int a) {
        return b.aux() != null && a < b.aux().length ? b.aux()[a] : -1;
    }

    private static long need(long offset, Node node, String what) {
        if (offset < 0) throw new BackendException(node.name() + " (" + node.op().type() + "): " + what + " is not bound");
        return offset;
    }

    private static int i32(long v) {
        return Math.toIntExact(v);
    }

    private Object p(long offset) {
        return be.dev(offset);
    }

    /** Rows x cols reduction launch shape for colsum-like kernels: block (32, 8). */
    private void colLaunch(Spec k, int cols, Object... args) {
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

    private void copyAcc(long src, long dst, long n, boolean acc) {
        if (dst < 0) return;
        if (src == dst && !acc) return;
        be.elementwise(COPY_ACC, n, p(src), p(dst), n, flag(acc));
    }

    // ------------------------------------------------------------------ Conv2d (im2col + GEMM per image)

    private static boolean pointwise(Conv2d c) {
        return c.kernel().h() == 1 && c.kernel().w() == 1 && c.stride().h() == 1 && c.stride().w() == 1
                && c.padding().h() == 0 && c.padding().w() == 0;
    }

    private void im2col(Conv2d c, long x, long col, int C, int H, int W, int OH, int OW) {
        long total = (long) C * c.kernel().h() * c.kernel().w() * OH * OW;
        be.elementwise(IM2COL, total, p(x), p(col), C, H, W, c.kernel().h(), c.kernel().w(), c.stride().h(), c.stride().w(),
                c.padding().h(), c.padding().w(), c.dilation().h(), c.dilation().w(), OH, OW);
    }

    private void convFwd(Node node, Conv2d c, Bindings b) {
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
                gemm(false, false, Og, ohw, Cg * kk, 1f, w, Cg * kk, (long) Og * Cg * kk, col, ohw, (long) Cg * kk * ohw,
                        0f, yn, ohw, (long) Og * ohw, g);
            }
        }
        if (c.bias()) be.elementwise(ADD_BIAS_NCHW, (long) N * yImg, p(y), p(param(b, 1)), (long) N * yImg, O, ohw);
    }

    private void convBwd(Node node, Conv2d c, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), H = xs.dim(2), W = xs.dim(3), O = ys.dim(1), OH = ys.dim(2), OW = ys.dim(3);
        int g = c.groups(), Cg = C / g, Og = O / g, kh = c.kernel().h(), kw = c.kernel().w(), kk = kh * kw, ohw = OH * OW;
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
                            c.padding().h(), c.padding().w(), c.dilation().h(), c.dilation().w(), OH, OW, flag(accIn(b, 0)));
                }
            }
        }
    }

    // ------------------------------------------------------------------ Linear, MatMul

    private void linearFwd(Node node, Linear l, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int in = xs.dim(-1), out = l.outFeatures();
        int rows = i32(xs.numel() / Math.max(in, 1));
        long y = b.out()[0];
        gemm(false, true, rows, out, in, 1f, b.in()[0], in, 0, param(b, 0), in, 0, 0f, y, out, 0, 1);
        if (l.bias()) be.elementwise(ADD_BIAS_ROWS, (long) rows * out, p(y), p(param(b, 1)), (long) rows * out, out);
    }

    private void linearBwd(Node node, Linear l, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int in = xs.dim(-1), out = l.outFeatures();
        int rows = i32(xs.numel() / Math.max(in, 1));
        long gy = b.gradOut()[0], gx = b.gradIn()[0], gw = gradParam(b, 0), gb = l.bias() ? gradParam(b, 1) : -1;
        if (gw >= 0)
            gemm(true, false, out, in, rows, 1f, gy, out, 0, need(b.in()[0], node, "the input"), in, 0,
                    accParam(b, 0) ? 1f : 0f, gw, in, 0, 1);
        if (gb >= 0) colLaunch(COLSUM, out, p(gy), p(gb), (long) rows, out, flag(accParam(b, 1)));
        if (gx >= 0) gemm(false, false, rows, in, out, 1f, gy, out, 0, param(b, 0), in, 0, accIn(b, 0) ? 1f : 0f, gx, in, 0, 1);
    }

    private void matmulFwd(Node node, MatMul mm, Bindings b) {
        Shape as = node.inShapes().get(0), bs = node.inShapes().get(1);
        int r = as.rank(), m = as.dim(-2), k = as.dim(-1), n = node.outShapes().get(0).dim(-1);
        int batch = i32(as.numel(0, r - 2));
        boolean tb = mm.transposeB();
        gemm(false, tb, m, n, k, 1f, b.in()[0], k, (long) m * k, b.in()[1], tb ? k : n, (long) k * n, 0f, b.out()[0], n,
                (long) m * n, batch);
    }

    private void matmulBwd(Node node, MatMul mm, Bindings b) {
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

    // ------------------------------------------------------------------ normalisation

    private void batchNormFwd(Node node, BatchNorm2d bn, Bindings b, boolean training, boolean recompute) {
        Shape xs = node.inShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), hw = xs.dim(2) * xs.dim(3);
        if (training) {
            be.launch(BN_FWD_TRAIN, C, 1, 1, 512, 1, 1, 0, p(b.in()[0]), p(b.out()[0]), p(param(b, 0)), p(param(b, 1)),
                    p(param(b, 2)), p(param(b, 3)), p(aux(b, 0)), p(aux(b, 1)), N, C, hw, (float) bn.eps(),
                    (float) bn.momentum(), flag(!recompute && param(b, 2) >= 0 && param(b, 3) >= 0));
        } else {
            be.elementwise(BN_FWD_EVAL, xs.numel(), p(b.in()[0]), p(b.out()[0]), p(param(b, 0)), p(param(b, 1)),
                    p(param(b, 2)), p(param(b, 3)), xs.numel(), C, hw, (float) bn.eps());
        }
    }

    private void batchNormBwd(Node node, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int N = xs.dim(0), C = xs.dim(1), hw = xs.dim(2) * xs.dim(3);
        be.launch(BN_BWD, C, 1, 1, 512, 1, 1, 0, p(need(b.in()[0], node, "the input")), p(b.gradOut()[0]), p(param(b, 0)),
                p(need(aux(b, 0), node, "aux mean")), p(need(aux(b, 1), node, "aux invstd")), p(b.gradIn()[0]),
                p(gradParam(b, 0)), p(gradParam(b, 1)), N, C, hw, flag(accIn(b, 0)), flag(accParam(b, 0)), flag(accParam(b, 1)));
    }

    private void layerNormFwd(Node node, LayerNorm ln, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int d = xs.dim(-1);
        long rows = xs.numel() / Math.max(d, 1);
        be.launch(LN_FWD, i32(rows), 1, 1, d >= 512 ? 256 : 128, 1, 1, 0, p(b.in()[0]), p(b.out()[0]), p(param(b, 0)),
                p(param(b, 1)), p(aux(b, 0)), p(aux(b, 1)), d, (float) ln.eps());
    }

    private void layerNormBwd(Node node, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int d = xs.dim(-1);
        long rows = xs.numel() / Math.max(d, 1);
        long x = need(b.in()[0], node, "the input"), mean = need(aux(b, 0), node, "aux mean"), rstd = need(aux(b, 1), node, "aux rstd");
        long gy = b.gradOut()[0];
        if (gradParam(b, 0) >= 0 || gradParam(b, 1) >= 0)
            colLaunch(LN_BWD_PARAMS, d, p(x), p(gy), p(mean), p(rstd), p(gradParam(b, 0)), p(gradParam(b, 1)), rows, d,
                    flag(accParam(b, 0)), flag(accParam(b, 1)));
        if (b.gradIn()[0] >= 0)
            be.launch(LN_BWD_X, i32(rows), 1, 1, d >= 512 ? 256 : 128, 1, 1, 0, p(x), p(gy), p(param(b, 0)), p(mean),
                    p(rstd), p(b.gradIn()[0]), d, flag(accIn(b, 0)));
    }

    // ------------------------------------------------------------------ elementwise

    private void unary(Spec k, Node node, Bindings b) {
        long n = node.inShapes().get(0).numel();
        be.elementwise(k, n, p(b.in()[0]), p(b.out()[0]), n);
    }

    private void unaryBwd(Spec k, Node node, Bindings b, long saved) {
        if (b.gradIn()[0] < 0) return;
        long n = node.inShapes().get(0).numel();
        be.elementwise(k, n, p(need(saved, node, "the saved tensor")), p(b.gradOut()[0]), p(b.gradIn()[0]), n, flag(accIn(b, 0)));
    }

    private void binary(Spec k, Node node, Bindings b) {
        long n = node.outShapes().get(0).numel();
        be.elementwise(k, n, p(b.in()[0]), p(b.in()[1]), p(b.out()[0]), n);
    }

    private void addBwd(Node node, Bindings b) {
        long n = node.outShapes().get(0).numel(), gy = b.gradOut()[0];
        // write the gradient that does not share gy's memory first
        int first = b.gradIn()[0] == gy ? 1 : 0;
        copyAcc(gy, b.gradIn()[first], n, accIn(b, first));
        copyAcc(gy, b.gradIn()[1 - first], n, accIn(b, 1 - first));
    }

    private void mulBwd(Node node, Bindings b) {
        long n = node.outShapes().get(0).numel(), gy = b.gradOut()[0];
        int first = b.gradIn()[0] == gy ? 1 : 0;
        for (int i : new int[]{first, 1 - first}) {
            long gi = b.gradIn()[i];
            if (gi < 0) continue;
            long other = need(b.in()[1 - i], node, "input " + (1 - i));
            be.elementwise(MUL_BWD, n, p(other), p(gy), p(gi), n, flag(accIn(b, i)));
        }
    }

    private void dropoutFwd(Node node, Dropout d, Bindings b, boolean training, long seed) {
        long n = node.inShapes().get(0).numel();
        if (!training || d.p() == 0) {   // identity; the mask (if bound) is all ones, as on the CPU backend
            copyAcc(b.in()[0], b.out()[0], n, false);
            if (aux(b, 0) >= 0) be.memsetBytes(aux(b, 0), (byte) 1, n);
            return;
        }
        float scale = (float) (1.0 / (1.0 - d.p()));
        long threshold = (long) Math.ceil(d.p() * (1 << 24));   // keep when the 24-bit draw >= p * 2^24
        be.elementwise(DROPOUT_FWD, n, p(b.in()[0]), p(b.out()[0]), p(need(aux(b, 0), node, "aux mask")), n, threshold,
                scale, seed, node.index());
    }

    private void dropoutBwd(Node node, Dropout d, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        long n = node.inShapes().get(0).numel();
        be.elementwise(DROPOUT_BWD, n, p(need(aux(b, 0), node, "aux mask")), p(b.gradOut()[0]), p(b.gradIn()[0]), n,
                (float) (1.0 / (1.0 - d.p())), flag(accIn(b, 0)));
    }

    // ------------------------------------------------------------------ pooling, resampling

    private void maxPoolFwd(Node node, MaxPool2d mp, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int nc = xs.dim(0) * xs.dim(1);
        be.elementwise(MAXPOOL_FWD, ys.numel(), p(b.in()[0]), p(b.out()[0]), p(need(aux(b, 0), node, "aux indices")), nc,
                xs.dim(2), xs.dim(3), ys.dim(2), ys.dim(3), mp.kernel().h(), mp.kernel().w(), mp.stride().h(),
                mp.stride().w(), mp.padding().h(), mp.padding().w());
    }

    private void maxPoolBwd(Node node, MaxPool2d mp, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int nc = xs.dim(0) * xs.dim(1);
        be.elementwise(MAXPOOL_BWD, xs.numel(), p(need(aux(b, 0), node, "aux indices")), p(b.gradOut()[0]), p(b.gradIn()[0]),
                nc, xs.dim(2), xs.dim(3), ys.dim(2), ys.dim(3), mp.kernel().h(), mp.kernel().w(), mp.stride().h(),
                mp.stride().w(), mp.padding().h(), mp.padding().w(), flag(accIn(b, 0)));
    }

    private void avgPoolFwd(Node node, AvgPool2d ap, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        be.elementwise(AVGPOOL_FWD, ys.numel(), p(b.in()[0]), p(b.out()[0]), xs.dim(0) * xs.dim(1), xs.dim(2), xs.dim(3),
                ys.dim(2), ys.dim(3), ap.kernel().h(), ap.kernel().w(), ap.stride().h(), ap.stride().w(),
                ap.padding().h(), ap.padding().w());
    }

    private void avgPoolBwd(Node node, AvgPool2d ap, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        be.elementwise(AVGPOOL_BWD, xs.numel(), p(b.gradOut()[0]), p(b.gradIn()[0]), xs.dim(0) * xs.dim(1), xs.dim(2),
                xs.dim(3), ys.dim(2), ys.dim(3), ap.kernel().h(), ap.kernel().w(), ap.stride().h(), ap.stride().w(),
                ap.padding().h(), ap.padding().w(), flag(accIn(b, 0)));
    }

    private void gapFwd(Node node, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int nc = xs.dim(0) * xs.dim(1), hw = xs.dim(2) * xs.dim(3);
        be.launch(GAP_FWD, (nc + 7) / 8, 1, 1, 256, 1, 1, 0, p(b.in()[0]), p(b.out()[0]), nc, hw);
    }

    private void gapBwd(Node node, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        Shape xs = node.inShapes().get(0);
        be.elementwise(GAP_BWD, xs.numel(), p(b.gradOut()[0]), p(b.gradIn()[0]), xs.numel(), xs.dim(2) * xs.dim(3),
                flag(accIn(b, 0)));
    }

    private void upsampleFwd(Node node, Upsample u, Bindings b) {
        Shape xs = node.inShapes().get(0);
        be.elementwise(UPSAMPLE_FWD, node.outShapes().get(0).numel(), p(b.in()[0]), p(b.out()[0]), xs.dim(0) * xs.dim(1),
                xs.dim(2), xs.dim(3), u.scale());
    }

    private void upsampleBwd(Node node, Upsample u, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        Shape xs = node.inShapes().get(0);
        be.elementwise(UPSAMPLE_BWD, xs.numel(), p(b.gradOut()[0]), p(b.gradIn()[0]), xs.dim(0) * xs.dim(1), xs.dim(2),
                xs.dim(3), u.scale(), flag(accIn(b, 0)));
    }

    // ------------------------------------------------------------------ data movement

    private static int axis(int axis, int rank) {
        return axis < 0 ? axis + rank : axis;
    }

    private void copyRows(long src, long srcStride, long dst, long dstStride, long rows, long cols, boolean acc) {
        be.elementwise(COPY_ROWS, rows * cols, p(src), srcStride, p(dst), dstStride, rows, cols, flag(acc));
    }

    private void concatFwd(Node node, Concat c, Bindings b) {
        Shape ys = node.outShapes().get(0);
        int ax = axis(c.axis(), ys.rank());
        long outer = ys.numel(0, ax), inner = ys.numel(ax + 1, ys.rank()), total = ys.dim(ax);
        long off = 0;
        for (int i = 0; i < node.inShapes().size(); i++) {
            long di = node.inShapes().get(i).dim(ax);
            copyRows(b.in()[i], di * inner, b.out()[0] + 4 * off * inner, total * inner, outer, di * inner, false);
            off += di;
        }
    }

    private void concatBwd(Node node, Concat c, Bindings b) {
        Shape ys = node.outShapes().get(0);
        int ax = axis(c.axis(), ys.rank());
        long outer = ys.numel(0, ax), inner = ys.numel(ax + 1, ys.rank()), total = ys.dim(ax);
        long off = 0;
        for (int i = 0; i < node.inShapes().size(); i++) {
            long di = node.inShapes().get(i).dim(ax);
            if (b.gradIn()[i] >= 0)
                copyRows(b.gradOut()[0] + 4 * off * inner, total * inner, b.gradIn()[i], di * inner, outer, di * inner, accIn(b, i));
            off += di;
        }
    }

    private void sliceFwd(Node node, Slice s, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int ax = axis(s.axis(), xs.rank());
        long outer = xs.numel(0, ax), inner = xs.numel(ax + 1, xs.rank()), len = s.end() - s.start();
        copyRows(b.in()[0] + 4L * s.start() * inner, xs.dim(ax) * inner, b.out()[0], len * inner, outer, len * inner, false);
    }

    private void sliceBwd(Node node, Slice s, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        Shape xs = node.inShapes().get(0);
        int ax = axis(s.axis(), xs.rank());
        long outer = xs.numel(0, ax), inner = xs.numel(ax + 1, xs.rank()), len = s.end() - s.start();
        boolean acc = accIn(b, 0);
        if (!acc) be.memsetZero(gx, 4 * xs.numel());
        copyRows(b.gradOut()[0], len * inner, gx + 4L * s.start() * inner, xs.dim(ax) * inner, outer, len * inner, acc);
    }

    private static long[] contiguousStrides(Shape s) {
        long[] st = new long[s.rank()];
        long acc = 1;
        for (int i = s.rank() - 1; i >= 0; i--) {
            st[i] = acc;
            acc *= s.dim(i);
        }
        return st;
    }

    /** dst (dims) gathers src with strides[k] along dst's dim k. */
    private void permute(long src, long dst, int[] dims, long[] strides, boolean acc, Node node) {
        if (dims.length > 6) throw new BackendException(node.name() + ": Transpose supports rank up to 6 on the CUDA backend");
        int[] d = new int[6];
        long[] s = new long[6];
        int pad = 6 - dims.length;
        for (int i = 0; i < 6; i++) {
            d[i] = i < pad ? 1 : dims[i - pad];
            s[i] = i < pad ? 0 : strides[i - pad];
        }
        long n = 1;
        for (int v : d) n *= v;
        be.elementwise(TRANSPOSE_ND, n, p(src), p(dst), n, d[0], d[1], d[2], d[3], d[4], d[5], s[0], s[1], s[2], s[3],
                s[4], s[5], flag(acc));
    }

    private void transposeFwd(Node node, Transpose t, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        long[] xst = contiguousStrides(xs);
        long[] st = new long[ys.rank()];
        for (int k = 0; k < st.length; k++) st[k] = xst[t.perm().get(k)];
        permute(b.in()[0], b.out()[0], ys.dims(), st, false, node);
    }

    private void transposeBwd(Node node, Transpose t, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        long[] yst = contiguousStrides(ys);
        long[] st = new long[xs.rank()];
        for (int k = 0; k < ys.rank(); k++) st[t.perm().get(k)] = yst[k];
        permute(b.gradOut()[0], b.gradIn()[0], xs.dims(), st, accIn(b, 0), node);
    }

    private static int indexFlag(Graph g, Node node, int input) {
        DType t = g.value(node.inputs()[input]).dtype();
        if (t == DType.INT64) return 1;
        if (t == DType.INT32) return 0;
        throw new BackendException(node.name() + " (" + node.op().type() + "): input " + input + " must be int64 or int32, got " + t);
    }

    private void embeddingFwd(Graph g, Node node, Embedding e, Bindings b) {
        long rows = node.inShapes().get(0).numel();
        be.elementwise(EMBEDDING_FWD, rows * e.dim(), p(b.in()[0]), p(param(b, 0)), p(b.out()[0]), rows, e.dim(),
                e.numEmbeddings(), indexFlag(g, node, 0));
    }

    private void embeddingBwd(Graph g, Node node, Embedding e, Bindings b) {
        long gw = gradParam(b, 0);
        if (gw < 0) return;
        long rows = node.inShapes().get(0).numel();
        if (!accParam(b, 0)) be.memsetZero(gw, 4L * e.numEmbeddings() * e.dim());
        be.elementwise(EMBEDDING_BWD, rows * e.dim(), p(need(b.in()[0], node, "the indices")), p(b.gradOut()[0]), p(gw),
                rows, e.dim(), e.numEmbeddings(), indexFlag(g, node, 0));
    }

    // ------------------------------------------------------------------ softmax, losses

    private static int rowThreads(long d) {
        return d >= 1024 ? 512 : d >= 256 ? 256 : 128;
    }

    private void softmaxFwd(Node node, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int d = xs.dim(-1);
        be.launch(SOFTMAX_FWD, i32(xs.numel() / Math.max(d, 1)), 1, 1, rowThreads(d), 1, 1, 0, p(b.in()[0]), p(b.out()[0]), d);
    }

    private void softmaxBwd(Node node, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        Shape xs = node.inShapes().get(0);
        int d = xs.dim(-1);
        be.launch(SOFTMAX_BWD, i32(xs.numel() / Math.max(d, 1)), 1, 1, rowThreads(d), 1, 1, 0,
                p(need(b.out()[0], node, "the output")), p(b.gradOut()[0]), p(b.gradIn()[0]), d, flag(accIn(b, 0)));
    }

    private void crossEntropyFwd(Graph g, Node node, CrossEntropy ce, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int ax = axis(ce.classAxis(), xs.rank());
        int C = xs.dim(ax);
        long inner = xs.numel(ax + 1, xs.rank()), rows = xs.numel() / Math.max(C, 1);
        long logsm = need(aux(b, 0), node, "aux log_softmax");
        be.launch(CE_LOGSOFTMAX, i32(rows), 1, 1, rowThreads(C), 1, 1, 0, p(b.in()[0]), p(logsm), C, i32(inner));
        be.launch(CE_LOSS, 1, 1, 1, 1024, 1, 1, 0, p(logsm), p(b.in()[1]), p(b.out()[0]), rows, C, i32(inner),
                indexFlag(g, node, 1));
    }

    private void crossEntropyBwd(Graph g, Node node, CrossEntropy ce, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        Shape xs = node.inShapes().get(0);
        int ax = axis(ce.classAxis(), xs.rank());
        int C = xs.dim(ax);
        long inner = xs.numel(ax + 1, xs.rank()), rows = xs.numel() / Math.max(C, 1);
        be.elementwise(CE_BWD, xs.numel(), p(need(aux(b, 0), node, "aux log_softmax")), p(need(b.in()[1], node, "the target")),
                p(b.gradOut()[0]), p(gx), xs.numel(), C, i32(inner), rows, indexFlag(g, node, 1), flag(accIn(b, 0)));
    }

    private void mseFwd(Node node, Bindings b) {
        long n = node.inShapes().get(0).numel();
        be.launch(MSE_FWD, 1, 1, 1, 1024, 1, 1, 0, p(b.in()[0]), p(b.in()[1]), p(b.out()[0]), n);
    }

    private void mseBwd(Node node, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        long n = node.inShapes().get(0).numel();
        be.elementwise(MSE_BWD, n, p(need(b.in()[0], node, "the prediction")), p(need(b.in()[1], node, "the target")),
                p(b.gradOut()[0]), p(b.gradIn()[0]), n, flag(accIn(b, 0)));
    }

    // ------------------------------------------------------------------ attention

    private static final int ATT_WARPS = 8, ATT_MAX_HEAD_DIM = 256, SMEM_BYTES = 48 * 1024;

    private void attentionFwd(Node node, Attention a, Bindings b) {
        Shape q = node.inShapes().get(0), k = node.inShapes().get(1);
        int n = q.dim(0), tq = q.dim(1), d = q.dim(2), tk = k.dim(1), h = a.heads(), dh = d / h;
        checkHeadDim(node, dh);
        checkGrid(node, n * h);
        int tile = Math.max(1, Math.min(64, SMEM_BYTES / (8 * dh)));
        be.launch(ATTN_FWD, (tq + ATT_WARPS - 1) / ATT_WARPS, n * h, 1, 32 * ATT_WARPS, 1, 1, 2 * tile * dh * 4,
                p(b.in()[0]), p(b.in()[1]), p(b.in()[2]), p(b.out()[0]), p(need(aux(b, 0), node, "aux lse")), tq, tk, d, h,
                dh, flag(a.causal()), (float) (1.0 / Math.sqrt(dh)), tile);
    }

    private void attentionBwd(Node node, Attention a, Bindings b) {
        Shape q = node.inShapes().get(0), k = node.inShapes().get(1);
        int n = q.dim(0), tq = q.dim(1), d = q.dim(2), tk = k.dim(1), h = a.heads(), dh = d / h;
        checkHeadDim(node, dh);
        checkGrid(node, n * h);
        float scale = (float) (1.0 / Math.sqrt(dh));
        long qq = need(b.in()[0], node, "q"), kk = need(b.in()[1], node, "k"), vv = need(b.in()[2], node, "v");
        long o = need(b.out()[0], node, "the output"), lse = need(aux(b, 0), node, "aux lse"), go = b.gradOut()[0];
        long gq = b.gradIn()[0], gk = b.gradIn()[1], gv = b.gradIn()[2];
        if (gk >= 0 || gv >= 0) {   // before dQ: dK/dV read all of dO
            int tile = Math.max(1, Math.min(64, SMEM_BYTES / (4 * (2 * dh + 2))));
            be.launch(ATTN_BWD_DKV, (tk + ATT_WARPS - 1) / ATT_WARPS, n * h, 1, 32 * ATT_WARPS, 1, 1, (2 * tile * dh + 2 * tile) * 4,
                    p(qq), p(kk), p(vv), p(o), p(go), p(lse), p(gk), p(gv), tq, tk, d, h, dh, flag(a.causal()), scale, tile,
                    flag(accIn(b, 1)), flag(accIn(b, 2)));
        }
        if (gq >= 0) {
            int tile = Math.max(1, Math.min(64, SMEM_BYTES / (8 * dh)));
            be.launch(ATTN_BWD_DQ, (tq + ATT_WARPS - 1) / ATT_WARPS, n * h, 1, 32 * ATT_WARPS, 1, 1, 2 * tile * dh * 4,
                    p(qq), p(kk), p(vv), p(o), p(go), p(lse), p(gq), tq, tk, d, h, dh, flag(a.causal()), scale, tile,
                    flag(accIn(b, 0)));
        }
    }

    private static void checkGrid(Node node, int batchHeads) {
        if (batchHeads > MAX_GRID_YZ)
            throw new BackendException(node.name() + ": batch x heads = " + batchHeads + " exceeds the CUDA attention kernel's grid ("
                    + MAX_GRID_YZ + ")");
    }

    private static void checkHeadDim(Node node, int dh) {
        if (dh > ATT_MAX_HEAD_DIM)
            throw new BackendException(node.name() + ": the CUDA attention kernel supports head widths up to "
                    + ATT_MAX_HEAD_DIM + ", got " + dh);
    }

    // ------------------------------------------------------------------ LSTMCell

    private void lstmFwd(Node node, LSTMCell l, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int n = xs.dim(0), in = xs.dim(1), h = l.hidden();
        long gates = need(aux(b, 0), node, "aux gates");
        gemm(false, true, n, 4 * h, in, 1f, b.in()[0], in, 0, param(b, 0), in, 0, 0f, gates, 4 * h, 0, 1);
        gemm(false, true, n, 4 * h, h, 1f, b.in()[1], h, 0, param(b, 1), h, 0, 1f, gates, 4 * h, 0, 1);
        be.elementwise(LSTM_FWD_PW, (long) n * h, p(gates), p(param(b, 2)), p(param(b, 3)), p(b.in()[2]), p(b.out()[1]),
                p(b.out()[0]), n, h);
    }

    private void lstmBwd(Node node, LSTMCell l, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int n = xs.dim(0), in = xs.dim(1), h = l.hidden();
        long dg = need(aux(b, 0), node, "aux gates");   // becomes the gate gradients
        be.elementwise(LSTM_BWD_PW, (long) n * h, p(dg), p(need(b.in()[2], node, "c")), p(need(b.out()[1], node, "c'")),
                p(b.gradOut()[0]), p(b.gradOut().length > 1 ? b.gradOut()[1] : -1), p(b.gradIn()[2]), n, h, flag(accIn(b, 2)));
        if (gradParam(b, 0) >= 0)
            gemm(true, false, 4 * h, in, n, 1f, dg, 4 * h, 0, need(b.in()[0], node, "x"), in, 0, accParam(b, 0) ? 1f : 0f,
                    gradParam(b, 0), in, 0, 1);
        if (gradParam(b, 1) >= 0)
            gemm(true, false, 4 * h, h, n, 1f, dg, 4 * h, 0, need(b.in()[1], node, "h"), h, 0, accParam(b, 1) ? 1f : 0f,
                    gradParam(b, 1), h, 0, 1);
        for (int pi = 2; pi <= 3; pi++)
            if (gradParam(b, pi) >= 0) colLaunch(COLSUM, 4 * h, p(dg), p(gradParam(b, pi)), (long) n, 4 * h, flag(accParam(b, pi)));
        if (b.gradIn()[0] >= 0)
            gemm(false, false, n, in, 4 * h, 1f, dg, 4 * h, 0, param(b, 0), in, 0, accIn(b, 0) ? 1f : 0f, b.gradIn()[0], in, 0, 1);
        if (b.gradIn()[1] >= 0)
            gemm(false, false, n, h, 4 * h, 1f, dg, 4 * h, 0, param(b, 1), h, 0, accIn(b, 1) ? 1f : 0f, b.gradIn()[1], h, 0, 1);
    }

    // ------------------------------------------------------------------ optimizers and codecs

    /** SGD momentum 0.9, Adam (0.9, 0.999, 1e-8): the hyper-parameters and scalar rounding of the CPU backend. */
    void optimizerStep(Optimizer optimizer, double learningRate, long param, long grad, long[] states, long numel, int t) {
        switch (optimizer) {
            case SGD -> be.elementwise(SGD_STEP, numel, p(param), p(grad), p(states[0]), numel, (float) learningRate,
                    CpuOptimizers.SGD_MOMENTUM);
            case ADAM -> {
                double b1 = CpuOptimizers.ADAM_BETA1, b2 = CpuOptimizers.ADAM_BETA2;
                double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
                be.elementwise(ADAM_STEP, numel, p(param), p(grad), p(states[0]), p(states[1]), numel,
                        (float) (learningRate / bc1), (float) b1, (float) b2, (float) (1 - b1), (float) (1 - b2),
                        (float) CpuOptimizers.ADAM_EPS, (float) Math.sqrt(bc2));
            }
        }
    }

    void encode(Codec codec, long src, long dst, long numel, double density) {
        switch (codec) {
            case MASK_1BIT -> be.elementwise(MASK_ENC, (numel + 31) / 32 * 32, p(src), p(dst), numel);
            case SPARSE -> be.launch(SPARSE_ENC, 1, 1, 1, 1024, 1, 1, 0, p(src), p(dst), numel, sparseCapacity(numel, density),
                    be.statusPtr());
            case FP16 -> be.elementwise(FP16_ENC, (numel + 1) / 2 * 2, p(src), p(dst), numel);
            case BF16 -> be.elementwise(BF16_ENC, (numel + 1) / 2 * 2, p(src), p(dst), numel);
        }
    }

    void decode(Codec codec, long src, long dst, long numel, double density) {
        switch (codec) {
            case MASK_1BIT -> be.elementwise(MASK_DEC, numel, p(src), p(dst), numel);
            case SPARSE -> be.launch(SPARSE_DEC, 1, 1, 1, 1024, 1, 1, 0, p(src), p(dst), numel, sparseCapacity(numel, density));
            case FP16 -> be.elementwise(FP16_DEC, numel, p(src), p(dst), numel);
            case BF16 -> be.elementwise(BF16_DEC, numel, p(src), p(dst), numel);
        }
    }

    /** Values a SPARSE encoding has room for, as Codec#encodedBytes and the CPU codecs. */
    static long sparseCapacity(long numel, double density) {
        return Math.min(numel, (long) Math.ceil(numel * density));
    }
}

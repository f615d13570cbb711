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
import memplan.ops.Cast;
import memplan.ops.Clip;
import memplan.ops.Concat;
import memplan.ops.ConstElementwise;
import memplan.ops.Conv2d;
import memplan.ops.ConvTranspose2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Div;
import memplan.ops.Dropout;
import memplan.ops.Embedding;
import memplan.ops.Flatten;
import memplan.ops.GELU;
import memplan.ops.GlobalAvgPool;
import memplan.ops.HardSigmoid;
import memplan.ops.HardSwish;
import memplan.ops.Input;
import memplan.ops.LSTMCell;
import memplan.ops.LayerNorm;
import memplan.ops.LeakyReLU;
import memplan.ops.Linear;
import memplan.ops.LossOp;
import memplan.ops.MaskedFill;
import memplan.ops.MatMul;
import memplan.ops.MaxPool2d;
import memplan.ops.MseLoss;
import memplan.ops.Mul;
import memplan.ops.OpVisitor;
import memplan.ops.Opaque;
import memplan.ops.Pad;
import memplan.ops.Pair;
import memplan.ops.Pow;
import memplan.ops.ReLU;
import memplan.ops.ReduceMean;
import memplan.ops.Reshape;
import memplan.ops.Sigmoid;
import memplan.ops.Slice;
import memplan.ops.Softmax;
import memplan.ops.Split;
import memplan.ops.Sqrt;
import memplan.ops.Sub;
import memplan.ops.Tanh;
import memplan.ops.Transpose;
import memplan.ops.Upsample;

import java.util.Arrays;
import java.util.List;

import static memplan.cuda.Kernels.*;

/**
 * Forward and backward of every op on the GPU, dispatched by one exhaustive {@link OpVisitor} (the elementwise ops
 * are in {@link CudaPointwiseOps}). Offsets are bytes into the arena; shapes come from the node.
 * Parameter gradients are computed before input gradients, so an input gradient may share memory with the output
 * gradient for the elementwise ops. LSTMCell's backward turns its "gates" aux into gate gradients in place (the aux
 * is dead after this backward, and the op declares no backward workspace).
 */
final class CudaOps {
    private static final int MAX_GRID_YZ = 65535;
    private final KernelHost be;
    private final CudaPointwiseOps pw;

    CudaOps(KernelHost be) {
        this.be = be;
        this.pw = new CudaPointwiseOps(be);
    }

    // ------------------------------------------------------------------ dispatch

    void forward(Graph g, Node node, Bindings b, boolean training, boolean recompute, long seed) {
        if (node.op() instanceof Input || node.op().isView()) return;
        checkFloat(g, node);
        node.op().accept(dispatch).forward().run(g, node, b, new Pass(training, recompute, seed));
    }

    void backward(Graph g, Node node, Bindings b) {
        if (node.op() instanceof Input || node.op().isView()) return;
        checkFloat(g, node);
        boolean anyGradOut = false;
        for (long o : b.gradOut()) anyGradOut |= o >= 0;
        if (!anyGradOut && !(node.op() instanceof LossOp)) {   // no gradient flows in: the ones it writes are zero
            zeroGrads(node, b);
            return;
        }
        node.op().accept(dispatch).backward().run(g, node, b);
    }

    /** How a forward runs: training or evaluation, a recompute (running statistics stay), the Dropout seed. */
    private record Pass(boolean training, boolean recompute, long seed) {
    }

    private interface Forward {
        void run(Graph g, Node node, Bindings b, Pass pass);
    }

    private interface Backward {
        void run(Graph g, Node node, Bindings b);
    }

    /** The GPU's forward and backward of one op. */
    private record OpKernel(Forward forward, Backward backward) {
    }

    private static final OpKernel NO_KERNEL = new OpKernel((g, n, b, p) -> { }, (g, n, b) -> { });

    private OpKernel unaryKernel(Spec fwd, Spec bwd, boolean savesOutput) {
        return new OpKernel((g, n, b, p) -> pw.unary(fwd, n, b),
                (g, n, b) -> pw.unaryBwd(bwd, n, b, savesOutput ? b.out()[0] : b.in()[0]));
    }

    /**
     * Every op of the closed set (memplan.ops.OpVisitor): an op without a case here does not compile. Input and the
     * views (Reshape, Flatten: their output shares the input's memory) run no kernel.
     */
    private final OpVisitor<OpKernel> dispatch = new OpVisitor<>() {
        @Override public OpKernel visit(ReLU op) { return unaryKernel(RELU_FWD, RELU_BWD, true); }
        @Override public OpKernel visit(GELU op) { return unaryKernel(GELU_FWD, GELU_BWD, false); }
        @Override public OpKernel visit(Sigmoid op) { return unaryKernel(SIGMOID_FWD, SIGMOID_BWD, true); }
        @Override public OpKernel visit(Tanh op) { return unaryKernel(TANH_FWD, TANH_BWD, true); }
        @Override public OpKernel visit(HardSwish op) { return unaryKernel(HARDSWISH_FWD, HARDSWISH_BWD, false); }
        @Override public OpKernel visit(Sqrt op) { return unaryKernel(SQRT_FWD, SQRT_BWD, true); }

        @Override
        public OpKernel visit(LeakyReLU op) {
            return new OpKernel((g, n, b, p) -> pw.unary(LEAKY_RELU_FWD, n, b, op.slope()),
                    (g, n, b) -> pw.unaryBwd(LEAKY_RELU_BWD, n, b, b.in()[0], op.slope()));
        }

        @Override
        public OpKernel visit(HardSigmoid op) {
            return new OpKernel((g, n, b, p) -> pw.unary(HARDSIGMOID_FWD, n, b, op.alpha(), op.beta()),
                    (g, n, b) -> pw.unaryBwd(HARDSIGMOID_BWD, n, b, b.in()[0], op.alpha(), op.beta()));
        }

        @Override
        public OpKernel visit(Clip op) {
            return new OpKernel((g, n, b, p) -> pw.unary(CLIP_FWD, n, b, op.min(), op.max()),
                    (g, n, b) -> pw.unaryBwd(CLIP_BWD, n, b, b.out()[0], (float) op.min(), (float) op.max()));
        }

        @Override
        public OpKernel visit(Cast op) {
            return new OpKernel((g, n, b, p) -> pw.castFwd(g, n, op, b), (g, n, b) -> pw.castBwd(g, n, op, b));
        }

        @Override
        public OpKernel visit(Dropout op) {
            return new OpKernel((g, n, b, p) -> pw.dropoutFwd(n, op, b, p.training(), p.seed()),
                    (g, n, b) -> pw.dropoutBwd(n, op, b));
        }

        @Override
        public OpKernel visit(ConstElementwise op) {
            return new OpKernel((g, n, b, p) -> pw.constFwd(n, op, b), (g, n, b) -> pw.constBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Add op) {
            return new OpKernel((g, n, b, p) -> pw.addOrMulFwd(ADD_FWD, CudaPointwiseOps.ADD, n, b),
                    (g, n, b) -> pw.addBwd(n, b));
        }

        @Override
        public OpKernel visit(Mul op) {
            return new OpKernel((g, n, b, p) -> pw.addOrMulFwd(MUL_FWD, CudaPointwiseOps.MUL, n, b),
                    (g, n, b) -> pw.mulBwd(n, b));
        }

        @Override public OpKernel visit(Sub op) { return binaryKernel(CudaPointwiseOps.SUB); }
        @Override public OpKernel visit(Div op) { return binaryKernel(CudaPointwiseOps.DIV); }
        @Override public OpKernel visit(Pow op) { return binaryKernel(CudaPointwiseOps.POW); }

        private OpKernel binaryKernel(int f) {
            return new OpKernel((g, n, b, p) -> pw.binaryFwd(f, n, b), (g, n, b) -> pw.binaryBwd(f, n, b));
        }

        @Override
        public OpKernel visit(MaskedFill op) {
            return new OpKernel((g, n, b, p) -> pw.maskedFillFwd(g, n, op, b), (g, n, b) -> pw.maskedFillBwd(g, n, op,
                    b));
        }

        @Override
        public OpKernel visit(ReduceMean op) {
            return new OpKernel((g, n, b, p) -> reduceMeanFwd(n, op, b), (g, n, b) -> reduceMeanBwd(n, op, b));
        }

        @Override public OpKernel visit(Reshape op) { return NO_KERNEL; }
        @Override public OpKernel visit(Flatten op) { return NO_KERNEL; }

        @Override
        public OpKernel visit(Transpose op) {
            return new OpKernel((g, n, b, p) -> transposeFwd(n, op, b), (g, n, b) -> transposeBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Concat op) {
            return new OpKernel((g, n, b, p) -> concatFwd(n, op, b), (g, n, b) -> concatBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Slice op) {
            return new OpKernel((g, n, b, p) -> sliceFwd(n, op, b), (g, n, b) -> sliceBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Split op) {
            return new OpKernel((g, n, b, p) -> splitFwd(n, op, b), (g, n, b) -> splitBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Pad op) {
            return new OpKernel((g, n, b, p) -> padFwd(n, op, b), (g, n, b) -> padBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Upsample op) {
            return new OpKernel((g, n, b, p) -> upsampleFwd(n, op, b), (g, n, b) -> upsampleBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Linear op) {
            return new OpKernel((g, n, b, p) -> linearFwd(n, op, b), (g, n, b) -> linearBwd(n, op, b));
        }

        @Override
        public OpKernel visit(MatMul op) {
            return new OpKernel((g, n, b, p) -> matmulFwd(n, op, b), (g, n, b) -> matmulBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Conv2d op) {
            return new OpKernel((g, n, b, p) -> convFwd(n, op, b), (g, n, b) -> convBwd(n, op, b));
        }

        @Override
        public OpKernel visit(ConvTranspose2d op) {
            return new OpKernel((g, n, b, p) -> convTransposeFwd(n, op, b), (g, n, b) -> convTransposeBwd(n, op, b));
        }

        @Override
        public OpKernel visit(BatchNorm2d op) {
            return new OpKernel((g, n, b, p) -> batchNormFwd(n, op, b, p.training(), p.recompute()),
                    (g, n, b) -> batchNormBwd(n, b));
        }

        @Override
        public OpKernel visit(LayerNorm op) {
            return new OpKernel((g, n, b, p) -> layerNormFwd(n, op, b), (g, n, b) -> layerNormBwd(n, b));
        }

        @Override
        public OpKernel visit(Softmax op) {
            return new OpKernel((g, n, b, p) -> softmaxFwd(n, b), (g, n, b) -> softmaxBwd(n, b));
        }

        @Override
        public OpKernel visit(MaxPool2d op) {
            return new OpKernel((g, n, b, p) -> maxPoolFwd(n, op, b), (g, n, b) -> maxPoolBwd(n, op, b));
        }

        @Override
        public OpKernel visit(AvgPool2d op) {
            return new OpKernel((g, n, b, p) -> avgPoolFwd(n, op, b), (g, n, b) -> avgPoolBwd(n, op, b));
        }

        @Override
        public OpKernel visit(GlobalAvgPool op) {
            return new OpKernel((g, n, b, p) -> gapFwd(n, b), (g, n, b) -> gapBwd(n, b));
        }

        @Override
        public OpKernel visit(Embedding op) {
            return new OpKernel((g, n, b, p) -> embeddingFwd(g, n, op, b), (g, n, b) -> embeddingBwd(g, n, op, b));
        }

        @Override
        public OpKernel visit(LSTMCell op) {
            return new OpKernel((g, n, b, p) -> lstmFwd(n, op, b), (g, n, b) -> lstmBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Attention op) {
            return new OpKernel((g, n, b, p) -> attentionFwd(n, op, b), (g, n, b) -> attentionBwd(n, op, b));
        }

        @Override
        public OpKernel visit(CrossEntropy op) {
            return new OpKernel((g, n, b, p) -> crossEntropyFwd(g, n, op, b), (g, n, b) -> crossEntropyBwd(g, n, op,
                    b));
        }

        @Override
        public OpKernel visit(MseLoss op) {
            return new OpKernel((g, n, b, p) -> mseFwd(n, b), (g, n, b) -> mseBwd(n, b));
        }

        @Override
        public OpKernel visit(Opaque op) {
            return new OpKernel((g, n, b, p) -> opaqueFwd(g, n, b), (g, n, b) -> opaqueBwd(n, b));
        }

        @Override public OpKernel visit(Input op) { return NO_KERNEL; }
    };

    private static void checkFloat(Graph g, Node node) {
        if (g.floatType() != DType.FP32)
            throw new BackendException("the CUDA backend runs fp32 models only; " + node.name() + " is "
                    + g.floatType());
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

    static boolean accIn(Bindings b, int i) {
        return b.accumulateIn() != null && b.accumulateIn()[i];
    }

    static boolean accParam(Bindings b, int p) {
        return b.accumulateParams() != null && b.accumulateParams()[p];
    }

    static int flag(boolean v) {
        return v ? 1 : 0;
    }

    static long param(Bindings b, int p) {
        return b.params() != null && p < b.params().length ? b.params()[p] : -1;
    }

    static long gradParam(Bindings b, int p) {
        return b.gradParams() != null && p < b.gradParams().length ? b.gradParams()[p] : -1;
    }

    static long aux(Bindings b, int a) {
        return b.aux() != null && a < b.aux().length ? b.aux()[a] : -1;
    }

    static long need(long offset, Node node, String what) {
        if (offset < 0) throw new BackendException(node.name() + " (" + node.op().type() + "): " + what
                + " is not bound");
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
                gemm(false, false, Og, ohw, Cg * kk, 1f, w, Cg * kk, (long) Og * Cg * kk, col, ohw,
                        (long) Cg * kk * ohw,
                        0f, yn, ohw, (long) Og * ohw, g);
            }
        }
        if (c.bias()) be.elementwise(ADD_BIAS_NCHW, (long) N * yImg, p(y), p(param(b, 1)), (long) N * yImg, O, ohw);
    }

    private void convBwd(Node node, Conv2d c, Bindings b) {
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

    // ------------------------------------------------------------------ ConvTranspose2d (GEMM + col2im per image)

    /**
     * The adjoint of Conv2d, as the CPU kernel: per image and group, col [og kh kw, H W] = W_g^T x_g, then col2im
     * scatters (by gathering, no atomics) into y [O, OH, OW]; the bias is added last. Backward: im2col of gy gives
     * gcol, gx_g = W_g gcol_g and gW_g (+)= x_g gcol_g^T; the bias gradient sums gy per channel.
     */
    private void convTransposeFwd(Node node, ConvTranspose2d c, Bindings b) {
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

    private void convTransposeBwd(Node node, ConvTranspose2d c, Bindings b) {
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
        if (gx >= 0) gemm(false, false, rows, in, out, 1f, gy, out, 0, param(b, 0), in, 0, accIn(b, 0) ? 1f : 0f, gx,
                in, 0, 1);
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
        be.launch(BN_BWD, C, 1, 1, 512, 1, 1, 0, p(need(b.in()[0], node, "the input")), p(b.gradOut()[0]), p(param(b,
                0)),
                p(need(aux(b, 0), node, "aux mean")), p(need(aux(b, 1), node, "aux invstd")), p(b.gradIn()[0]),
                p(gradParam(b, 0)), p(gradParam(b, 1)), N, C, hw, flag(accIn(b, 0)), flag(accParam(b, 0)),
                        flag(accParam(b, 1)));
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
        long x = need(b.in()[0], node, "the input"), mean = need(aux(b, 0), node, "aux mean"), rstd = need(aux(b, 1),
                node, "aux rstd");
        long gy = b.gradOut()[0];
        if (gradParam(b, 0) >= 0 || gradParam(b, 1) >= 0)
            colLaunch(LN_BWD_PARAMS, d, p(x), p(gy), p(mean), p(rstd), p(gradParam(b, 0)), p(gradParam(b, 1)), rows, d,
                    flag(accParam(b, 0)), flag(accParam(b, 1)));
        if (b.gradIn()[0] >= 0)
            be.launch(LN_BWD_X, i32(rows), 1, 1, d >= 512 ? 256 : 128, 1, 1, 0, p(x), p(gy), p(param(b, 0)), p(mean),
                    p(rstd), p(b.gradIn()[0]), d, flag(accIn(b, 0)));
    }

    // ------------------------------------------------------------------ pooling, resampling

    private void maxPoolFwd(Node node, MaxPool2d mp, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int nc = xs.dim(0) * xs.dim(1);
        be.elementwise(MAXPOOL_FWD, ys.numel(), p(b.in()[0]), p(b.out()[0]), p(need(aux(b, 0), node, "aux indices")),
                nc,
                xs.dim(2), xs.dim(3), ys.dim(2), ys.dim(3), mp.kernel().h(), mp.kernel().w(), mp.stride().h(),
                mp.stride().w(), mp.padding().h(), mp.padding().w());
    }

    private void maxPoolBwd(Node node, MaxPool2d mp, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int nc = xs.dim(0) * xs.dim(1);
        be.elementwise(MAXPOOL_BWD, xs.numel(), p(need(aux(b, 0), node, "aux indices")), p(b.gradOut()[0]),
                p(b.gradIn()[0]),
                nc, xs.dim(2), xs.dim(3), ys.dim(2), ys.dim(3), mp.kernel().h(), mp.kernel().w(), mp.stride().h(),
                mp.stride().w(), mp.padding().h(), mp.padding().w(), flag(accIn(b, 0)));
    }

    private void avgPoolFwd(Node node, AvgPool2d ap, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        be.elementwise(AVGPOOL_FWD, ys.numel(), p(b.in()[0]), p(b.out()[0]), xs.dim(0) * xs.dim(1), xs.dim(2),
                xs.dim(3),
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
        be.elementwise(UPSAMPLE_FWD, node.outShapes().get(0).numel(), p(b.in()[0]), p(b.out()[0]),
                xs.dim(0) * xs.dim(1),
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
                copyRows(b.gradOut()[0] + 4 * off * inner, total * inner, b.gradIn()[i], di * inner, outer, di * inner,
                        accIn(b, i));
            off += di;
        }
    }

    private void sliceFwd(Node node, Slice s, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int ax = axis(s.axis(), xs.rank());
        long outer = xs.numel(0, ax), inner = xs.numel(ax + 1, xs.rank()), len = s.end() - s.start();
        copyRows(b.in()[0] + 4L * s.start() * inner, xs.dim(ax) * inner, b.out()[0], len * inner, outer, len * inner,
                false);
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
        if (dims.length > 6) throw new BackendException(node.name()
                + ": Transpose supports rank up to 6 on the CUDA backend");
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

    private void splitFwd(Node node, Split sp, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int ax = axis(sp.axis(), xs.rank());
        long outer = xs.numel(0, ax), inner = xs.numel(ax + 1, xs.rank()), xRow = xs.dim(ax) * inner, off = 0;
        for (int k = 0; k < sp.sizes().size(); k++) {
            long part = sp.sizes().get(k) * inner;
            copyRows(b.in()[0] + 4 * off, xRow, b.out()[k], part, outer, part, false);
            off += part;
        }
    }

    /** Each part's gradient into its place; a part without one is zero (unless accumulating). */
    private void splitBwd(Node node, Split sp, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        Shape xs = node.inShapes().get(0);
        int ax = axis(sp.axis(), xs.rank());
        long outer = xs.numel(0, ax), inner = xs.numel(ax + 1, xs.rank()), xRow = xs.dim(ax) * inner, off = 0;
        boolean acc = accIn(b, 0);
        for (int k = 0; k < sp.sizes().size(); k++) {
            long part = sp.sizes().get(k) * inner, gy = b.gradOut()[k];
            if (gy >= 0) copyRows(gy, part, gx + 4 * off, xRow, outer, part, acc);
            else if (!acc) be.elementwise(ZERO_ROWS, outer * part, p(gx + 4 * off), xRow, outer, part);
            off += part;
        }
    }

    /** Pad modes of misc.cu (PAD_*); an unknown mode pads with zeros, as the CPU kernel. */
    static int padMode(String mode) {
        return switch (mode) {
            case "reflect" -> 1;
            case "edge" -> 2;
            default -> 0;
        };
    }

    /** x dims, y dims and begin pads, each as 6 ints (leading dims of 1, pad 0). */
    private static Object[] padShapes(Node node, Pad pad) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int r = xs.rank(), lead = Strided6.RANK - r;
        if (r > Strided6.RANK)
            throw new BackendException(node.name() + ": Pad supports rank up to " + Strided6.RANK
                    + " on the CUDA backend");
        Object[] a = new Object[3 * Strided6.RANK];
        for (int k = 0; k < Strided6.RANK; k++) {
            a[k] = k < lead ? 1 : xs.dim(k - lead);
            a[Strided6.RANK + k] = k < lead ? 1 : ys.dim(k - lead);
            a[2 * Strided6.RANK + k] = k < lead ? 0 : pad.pads().get(k - lead);
        }
        return a;
    }

    private static Object[] join(Object[] head, Object... tail) {
        Object[] a = new Object[head.length + tail.length];
        System.arraycopy(head, 0, a, 0, head.length);
        System.arraycopy(tail, 0, a, head.length, tail.length);
        return a;
    }

    private void padFwd(Node node, Pad pad, Bindings b) {
        long n = node.outShapes().get(0).numel();
        be.elementwise(PAD_FWD, n, join(new Object[]{p(b.in()[0]), p(b.out()[0]), n, padMode(pad.mode())},
                padShapes(node, pad)));
    }

    private void padBwd(Node node, Pad pad, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        long n = node.inShapes().get(0).numel();
        be.elementwise(PAD_BWD, n, join(new Object[]{p(b.gradOut()[0]), p(gx), n, padMode(pad.mode()), flag(accIn(b,
                0))},
                padShapes(node, pad)));
    }

    /** x's dims with x's strides and the (kept-dims) output's strides along them (0 on the averaged dims). */
    private static Strided6 reduceShape(Node node, ReduceMean op) {
        Shape xs = node.inShapes().get(0);
        int[] kept = xs.dims();
        if (op.axes().isEmpty()) Arrays.fill(kept, 1);
        for (int a : op.axes()) kept[axis(a, xs.rank())] = 1;
        return Strided6.collapse(node.name() + " (ReduceMean)", xs.dims(),
                List.of(Strided6.broadcastStrides(xs, xs), Strided6.broadcastStrides(new Shape(kept), xs)));
    }

    private void reduceMeanFwd(Node node, ReduceMean op, Bindings b) {
        Strided6 s = reduceShape(node, op);
        long nOut = node.outShapes().get(0).numel(), count = node.inShapes().get(0).numel() / Math.max(1, nOut);
        int reduced = 0;
        for (int k = 0; k < Strided6.RANK; k++) if (s.strides()[1][k] == 0 && s.dims()[k] > 1) reduced |= 1 << k;
        Object[] dims = new Object[Strided6.RANK];
        for (int k = 0; k < Strided6.RANK; k++) dims[k] = s.dims()[k];
        be.elementwise(REDUCE_MEAN_FWD, nOut, join(new Object[]{p(b.in()[0]), p(b.out()[0]), nOut, count, reduced},
                dims));
    }

    private void reduceMeanBwd(Node node, ReduceMean op, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        Strided6 s = reduceShape(node, op);
        long n = node.inShapes().get(0).numel(), count = n / Math.max(1, node.outShapes().get(0).numel());
        be.elementwise(REDUCE_MEAN_BWD, n, join(new Object[]{p(b.gradOut()[0]), p(gx), n, (float) count, flag(accIn(b,
                0))},
                s.args(1)));
    }

    // ------------------------------------------------------------------ Opaque (a placeholder, as the CPU's)

    /** Every output is a copy of input 0 (as much of it as fits); the values mean nothing. */
    private void opaqueFwd(Graph g, Node node, Bindings b) {
        long x = b.in()[0], xBytes = g.value(node.inputs()[0]).bytes();
        for (int k = 0; k < b.out().length; k++) {
            long y = b.out()[k], yBytes = g.value(node.outputs()[k]).bytes(), floats = Math.min(xBytes, yBytes) / 4;
            if (y < 0 || y == x) continue;
            pw.copyAcc(x, y, floats, false);
            if (yBytes > 4 * floats) be.memsetZero(y + 4 * floats, yBytes - 4 * floats);
        }
    }

    /** Input 0 gets the sum of the outputs' gradients (the one it may share memory with first); the others zero. */
    private void opaqueBwd(Node node, Bindings b) {
        long gx = b.gradIn()[0], n = node.inShapes().get(0).numel();
        if (gx >= 0) {
            int alias = -1;
            for (int k = 0; k < b.gradOut().length; k++) if (b.gradOut()[k] == gx) alias = k;
            boolean written = accIn(b, 0);
            if (alias >= 0) {
                pw.copyAcc(b.gradOut()[alias], gx, n, written);
                written = true;
            }
            for (int k = 0; k < b.gradOut().length; k++) {
                if (k == alias || b.gradOut()[k] < 0) continue;
                pw.copyAcc(b.gradOut()[k], gx, n, written);
                written = true;
            }
            if (!written) be.memsetZero(gx, 4 * n);
        }
        for (int i = 1; i < b.gradIn().length; i++)
            if (b.gradIn()[i] >= 0 && !accIn(b, i)) be.memsetZero(b.gradIn()[i], 4 * node.inShapes().get(i).numel());
    }

    private static int indexFlag(Graph g, Node node, int input) {
        DType t = g.value(node.inputs()[input]).dtype();
        if (t == DType.INT64) return 1;
        if (t == DType.INT32) return 0;
        throw new BackendException(node.name() + " (" + node.op().type() + "): input " + input
                + " must be int64 or int32, got " + t);
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
        be.launch(SOFTMAX_FWD, i32(xs.numel() / Math.max(d, 1)), 1, 1, rowThreads(d), 1, 1, 0, p(b.in()[0]),
                p(b.out()[0]), d);
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
        be.elementwise(CE_BWD, xs.numel(), p(need(aux(b, 0), node, "aux log_softmax")), p(need(b.in()[1], node,
                "the target")),
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
                p(b.in()[0]), p(b.in()[1]), p(b.in()[2]), p(b.out()[0]), p(need(aux(b, 0), node, "aux lse")), tq, tk,
                        d, h,
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
            be.launch(ATTN_BWD_DKV, (tk + ATT_WARPS - 1) / ATT_WARPS, n * h, 1, 32 * ATT_WARPS, 1, 1,
                    (2 * tile * dh + 2 * tile) * 4,
                    p(qq), p(kk), p(vv), p(o), p(go), p(lse), p(gk), p(gv), tq, tk, d, h, dh, flag(a.causal()), scale,
                            tile,
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
            throw new BackendException(node.name() + ": batch x heads = " + batchHeads
                    + " exceeds the CUDA attention kernel's grid ("
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

    // ------------------------------------------------------------------ optimizers and codecs

    /** SGD momentum 0.9, Adam (0.9, 0.999, 1e-8): the hyper-parameters and scalar rounding of the CPU backend. */
    void optimizerStep(Optimizer optimizer, double learningRate, long param, long grad, long[] states, long numel,
            int t) {
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
            case SPARSE -> be.launch(SPARSE_ENC, 1, 1, 1, 1024, 1, 1, 0, p(src), p(dst), numel, sparseCapacity(numel,
                    density),
                    be.statusPtr());
            case FP16 -> be.elementwise(FP16_ENC, (numel + 1) / 2 * 2, p(src), p(dst), numel);
            case BF16 -> be.elementwise(BF16_ENC, (numel + 1) / 2 * 2, p(src), p(dst), numel);
        }
    }

    void decode(Codec codec, long src, long dst, long numel, double density) {
        switch (codec) {
            case MASK_1BIT -> be.elementwise(MASK_DEC, numel, p(src), p(dst), numel);
            case SPARSE -> be.launch(SPARSE_DEC, 1, 1, 1, 1024, 1, 1, 0, p(src), p(dst), numel, sparseCapacity(numel,
                    density));
            case FP16 -> be.elementwise(FP16_DEC, numel, p(src), p(dst), numel);
            case BF16 -> be.elementwise(BF16_DEC, numel, p(src), p(dst), numel);
        }
    }

    /** Values a SPARSE encoding has room for, as Codec#encodedBytes and the CPU codecs. */
    static long sparseCapacity(long numel, double density) {
        return Math.min(numel, (long) Math.ceil(numel * density));
    }
}

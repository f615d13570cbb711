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
import memplan.ops.Compare;
import memplan.ops.Clip;
import memplan.ops.Concat;
import memplan.ops.ConstElementwise;
import memplan.ops.Conv2d;
import memplan.ops.Conv3d;
import memplan.ops.GroupNorm;
import memplan.ops.MaxPool3d;
import memplan.ops.AvgPool3d;
import memplan.ops.Triple;
import memplan.ops.ConvTranspose2d;
import memplan.ops.ConvTranspose3d;
import memplan.ops.Flip;
import memplan.ops.Resize;
import memplan.ops.CrossEntropy;
import memplan.ops.Div;
import memplan.ops.Dropout;
import memplan.ops.Embedding;
import memplan.ops.Flatten;
import memplan.ops.GELU;
import memplan.ops.GlobalAvgPool;
import memplan.ops.HardSigmoid;
import memplan.ops.HardSwish;
import memplan.ops.Mish;
import memplan.ops.SiLU;
import memplan.ops.Fill;
import memplan.ops.Input;
import memplan.ops.LSTMCell;
import memplan.ops.LayerNorm;
import memplan.ops.GatedActivation;
import memplan.ops.RMSNorm;
import memplan.ops.RotaryEmbedding;
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
import memplan.ops.Pow;
import memplan.ops.ReLU;
import memplan.ops.ReduceMean;
import memplan.ops.CumSum;
import memplan.ops.TopK;
import memplan.ops.ScatterND;
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

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static memplan.cuda.Kernels.*;

/**
 * Forward and backward of every op on the GPU, dispatched by one exhaustive {@link OpVisitor}; the elementwise ops
 * are in {@link CudaPointwiseOps}, the GEMM-like ones in {@link CudaGemmOps}, data movement in
 * {@link CudaMovementOps}. Offsets are bytes into the arena; shapes come from the node.
 * Parameter gradients are computed before input gradients, so an input gradient may share memory with the output
 * gradient for the elementwise ops. LSTMCell's backward turns its "gates" aux into gate gradients in place (the aux
 * is dead after this backward, and the op declares no backward workspace).
 */
final class CudaOps {
    private static final int MAX_GRID_YZ = CudaGemmOps.MAX_GRID_YZ;
    private final KernelHost be;
    private final CudaPointwiseOps pw;
    private final CudaGemmOps gemm;
    private final CudaMovementOps movement;

    CudaOps(KernelHost be) {
        this.be = be;
        this.pw = new CudaPointwiseOps(be);
        this.gemm = new CudaGemmOps(be);
        this.movement = new CudaMovementOps(be);
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
        @Override public OpKernel visit(Mish op) { return unaryKernel(MISH_FWD, MISH_BWD, false); }
        @Override public OpKernel visit(SiLU op) { return unaryKernel(SILU_FWD, SILU_BWD, false); }
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

        /** A bool output and no gradient. */
        @Override
        public OpKernel visit(Compare op) {
            return new OpKernel((g, n, b, p) -> pw.compareFwd(g, n, op, b), (g, n, b) -> { });
        }

        @Override
        public OpKernel visit(MaskedFill op) {
            return new OpKernel((g, n, b, p) -> pw.maskedFillFwd(g, n, op, b),
                    (g, n, b) -> pw.maskedFillBwd(g, n, op, b));
        }

        @Override
        public OpKernel visit(ReduceMean op) {
            return new OpKernel((g, n, b, p) -> reduceMeanFwd(n, op, b), (g, n, b) -> reduceMeanBwd(n, op, b));
        }

        @Override
        public OpKernel visit(CumSum op) {
            return new OpKernel((g, n, b, p) -> cumSum(n, op, b.in()[0], b.out()[0], op.reverse(), false),
                    (g, n, b) -> {
                        long gx = b.gradIn()[0], gy = b.gradOut()[0];
                        if (gx < 0) return;
                        if (gy >= 0) cumSum(n, op, gy, gx, !op.reverse(), accIn(b, 0));
                        else if (!accIn(b, 0)) be.memsetZero(gx, n.inShapes().get(0).numel() * 4);
                    });
        }

        @Override
        public OpKernel visit(ScatterND op) {
            return new OpKernel((g, n, b, p) -> scatterNd(g, n, op, b, true), (g, n, b) -> scatterNd(g, n, op, b,
                    false));
        }

        @Override
        public OpKernel visit(TopK op) {
            return new OpKernel((g, n, b, p) -> topK(n, op, b, true), (g, n, b) -> topK(n, op, b, false));
        }

        @Override public OpKernel visit(Reshape op) { return NO_KERNEL; }
        @Override public OpKernel visit(Flatten op) { return NO_KERNEL; }

        @Override
        public OpKernel visit(Transpose op) {
            return new OpKernel((g, n, b, p) -> movement.transposeFwd(n, op, b),
                    (g, n, b) -> movement.transposeBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Concat op) {
            return new OpKernel((g, n, b, p) -> movement.concatFwd(n, op, b),
                    (g, n, b) -> movement.concatBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Slice op) {
            return new OpKernel((g, n, b, p) -> movement.sliceFwd(n, op, b), (g, n, b) -> movement.sliceBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Split op) {
            return new OpKernel((g, n, b, p) -> movement.splitFwd(n, op, b), (g, n, b) -> movement.splitBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Pad op) {
            return new OpKernel((g, n, b, p) -> movement.padFwd(n, op, b), (g, n, b) -> movement.padBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Upsample op) {
            return new OpKernel((g, n, b, p) -> upsampleFwd(n, op, b), (g, n, b) -> upsampleBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Resize op) {
            return new OpKernel((g, n, b, p) -> movement.resizeFwd(n, op, b),
                    (g, n, b) -> movement.resizeBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Flip op) {
            return new OpKernel((g, n, b, p) -> movement.flipFwd(n, op, b), (g, n, b) -> movement.flipBwd(n, op, b));
        }

        @Override
        public OpKernel visit(ConvTranspose3d op) {
            return new OpKernel((g, n, b, p) -> gemm.convTranspose3dFwd(n, op, b),
                    (g, n, b) -> gemm.convTranspose3dBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Linear op) {
            return new OpKernel((g, n, b, p) -> gemm.linearFwd(n, op, b), (g, n, b) -> gemm.linearBwd(n, op, b));
        }

        @Override
        public OpKernel visit(MatMul op) {
            return new OpKernel((g, n, b, p) -> gemm.matmulFwd(n, op, b), (g, n, b) -> gemm.matmulBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Conv2d op) {
            return new OpKernel((g, n, b, p) -> gemm.convFwd(n, op, b), (g, n, b) -> gemm.convBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Conv3d op) {
            return new OpKernel((g, n, b, p) -> gemm.conv3dFwd(n, op, b), (g, n, b) -> gemm.conv3dBwd(n, op, b));
        }

        @Override
        public OpKernel visit(ConvTranspose2d op) {
            return new OpKernel((g, n, b, p) -> gemm.convTransposeFwd(n, op, b),
                    (g, n, b) -> gemm.convTransposeBwd(n, op, b));
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
        public OpKernel visit(RMSNorm op) {
            return new OpKernel((g, n, b, p) -> rmsNormFwd(n, op, b), (g, n, b) -> rmsNormBwd(n, b));
        }

        @Override
        public OpKernel visit(GatedActivation op) {
            return new OpKernel((g, n, b, p) -> gatedFwd(n, op, b), (g, n, b) -> gatedBwd(n, op, b));
        }

        @Override
        public OpKernel visit(RotaryEmbedding op) {
            return new OpKernel((g, n, b, p) -> rope(n, op, b.in()[0], b.out()[0], 1, false),
                    (g, n, b) -> {
                        if (b.gradIn()[0] >= 0) rope(n, op, b.gradOut()[0], b.gradIn()[0], -1, accIn(b, 0));
                    });
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
        public OpKernel visit(GroupNorm op) {
            return new OpKernel((g, n, b, p) -> groupNormFwd(n, op, b), (g, n, b) -> groupNormBwd(n, op, b));
        }

        @Override
        public OpKernel visit(MaxPool3d op) {
            return new OpKernel((g, n, b, p) -> pool3d(n, b, op.kernel(), op.stride(), op.padding(), true, true),
                    (g, n, b) -> pool3d(n, b, op.kernel(), op.stride(), op.padding(), true, false));
        }

        @Override
        public OpKernel visit(AvgPool3d op) {
            return new OpKernel((g, n, b, p) -> pool3d(n, b, op.kernel(), op.stride(), op.padding(), false, true),
                    (g, n, b) -> pool3d(n, b, op.kernel(), op.stride(), op.padding(), false, false));
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
            return new OpKernel((g, n, b, p) -> gemm.lstmFwd(n, op, b), (g, n, b) -> gemm.lstmBwd(n, op, b));
        }

        @Override
        public OpKernel visit(Attention op) {
            return new OpKernel((g, n, b, p) -> attentionFwd(n, op, b), (g, n, b) -> attentionBwd(n, op, b));
        }

        @Override
        public OpKernel visit(CrossEntropy op) {
            return new OpKernel((g, n, b, p) -> crossEntropyFwd(g, n, op, b),
                    (g, n, b) -> crossEntropyBwd(g, n, op, b));
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

        @Override
        public OpKernel visit(Fill op) {
            return new OpKernel((g, n, b, p) -> fillFwd(g, n, op, b), (g, n, b) -> { });
        }
    };

    /** Fill: zeros of any dtype and bool ones by memset, other float values by fill_f32 (as the CPU kernel). */
    private void fillFwd(Graph g, Node node, Fill op, Bindings b) {
        long y = b.out()[0], n = node.outShapes().get(0).numel(), bytes = g.value(node.outputs()[0]).bytes();
        DType dt = g.value(node.outputs()[0]).dtype();
        if (op.value() == 0) be.memsetZero(y, bytes);
        else if (dt == DType.FP32) be.elementwise(FILL, n, p(y), n, (float) op.value());
        else if (dt == DType.BOOL) be.memsetBytes(y, (byte) 1, n);
        else throw new BackendException(node.name() + " (Fill): the CUDA backend fills " + dt
                + " tensors with zeros only, not " + op.value());
    }

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

    static int axis(int axis, int rank) {
        return axis < 0 ? axis + rank : axis;
    }

    static Object[] join(Object[] head, Object... tail) {
        Object[] a = new Object[head.length + tail.length];
        System.arraycopy(head, 0, a, 0, head.length);
        System.arraycopy(tail, 0, a, head.length, tail.length);
        return a;
    }

    static int i32(long v) {
        return Math.toIntExact(v);
    }

    private Object p(long offset) {
        return be.dev(offset);
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
            gemm.colLaunch(LN_BWD_PARAMS, d, p(x), p(gy), p(mean), p(rstd), p(gradParam(b, 0)), p(gradParam(b, 1)),
                    rows, d,
                    flag(accParam(b, 0)), flag(accParam(b, 1)));
        if (b.gradIn()[0] >= 0)
            be.launch(LN_BWD_X, i32(rows), 1, 1, d >= 512 ? 256 : 128, 1, 1, 0, p(x), p(gy), p(param(b, 0)), p(mean),
                    p(rstd), p(b.gradIn()[0]), d, flag(accIn(b, 0)));
    }

    private void rmsNormFwd(Node node, RMSNorm op, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int d = xs.dim(-1);
        long rows = xs.numel() / Math.max(d, 1);
        be.launch(RMS_FWD, i32(rows), 1, 1, d >= 512 ? 256 : 128, 1, 1, 0, p(b.in()[0]), p(b.out()[0]),
                p(param(b, 0)), p(aux(b, 0)), p(aux(b, 1)), p(aux(b, 2)), d, (float) op.eps());
    }

    private void rmsNormBwd(Node node, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int d = xs.dim(-1);
        long rows = xs.numel() / Math.max(d, 1);
        long gy = b.gradOut()[0];
        // the normalised x is kept for the weight's gradient; rstd and x for the input's (see TrainingGraph)
        if (gradParam(b, 0) >= 0)
            gemm.colLaunch(RMS_BWD_W, d, p(gy), p(need(aux(b, 1), node, "aux normalized")), p(gradParam(b, 0)),
                    rows, d, flag(accParam(b, 0)));
        if (b.gradIn()[0] >= 0)
            be.launch(RMS_BWD_X, i32(rows), 1, 1, d >= 512 ? 256 : 128, 1, 1, 0, p(gy), p(param(b, 0)),
                    p(need(aux(b, 0), node, "aux rstd")), p(aux(b, 1)), p(need(b.in()[0], node, "the input")),
                    p(b.gradIn()[0]), d, flag(accIn(b, 0)));
    }

    // ------------------------------------------------------------------ gated activation, rotary embedding

    private void gatedFwd(Node node, GatedActivation op, Bindings b) {
        long n = node.inShapes().get(0).numel();
        be.elementwise(GLU_FWD, n, p(b.in()[0]), p(b.in()[1]), p(b.out()[0]), p(aux(b, 0)), n,
                flag(op.gate() == GatedActivation.Gate.GELU));
    }

    private void gatedBwd(Node node, GatedActivation op, Bindings b) {
        if (b.gradIn()[0] < 0 && b.gradIn()[1] < 0) return;
        long n = node.inShapes().get(0).numel();
        be.elementwise(GLU_BWD, n, p(need(b.in()[0], node, "the gate")), p(need(b.in()[1], node, "up")),
                p(need(aux(b, 0), node, "aux activated")), p(b.gradOut()[0]), p(b.gradIn()[0]), p(b.gradIn()[1]), n,
                flag(op.gate() == GatedActivation.Gate.GELU), flag(accIn(b, 0)), flag(accIn(b, 1)));
    }

    private void rope(Node node, RotaryEmbedding op, long x, long y, int sign, boolean acc) {
        Shape xs = node.inShapes().get(0);
        long pairs = xs.numel() / 2;
        be.elementwise(ROPE, pairs, p(x), p(y), pairs, xs.dim(1), xs.dim(2), op.headDim(), op.theta(), sign,
                flag(acc));
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

    /** GroupNorm over [N, C, S...] (groupnorm.cu); statistics per (image, group) in the aux tensors. */
    private void groupNormFwd(Node node, GroupNorm op, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int ng = xs.dim(0) * op.groups(), cg = xs.dim(1) / op.groups(), s = (int) (xs.numel() / xs.dim(0) / xs.dim(1));
        long w = op.affine() ? param(b, 0) : -1, bias = op.affine() ? param(b, 1) : -1;
        be.elementwise(GROUPNORM_FWD, ng, p(b.in()[0]), p(w), p(bias), p(b.out()[0]),
                p(need(aux(b, 0), node, "aux mean")), p(need(aux(b, 1), node, "aux rstd")), ng, op.groups(), cg, s,
                (float) op.eps());
    }

    private void groupNormBwd(Node node, GroupNorm op, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int n = xs.dim(0), c = xs.dim(1), cg = c / op.groups(), s = (int) (xs.numel() / n / c);
        long x = need(b.in()[0], node, "the input (saved for backward)"), gy = b.gradOut()[0];
        long mean = need(aux(b, 0), node, "aux mean"), rstd = need(aux(b, 1), node, "aux rstd");
        long gw = op.affine() ? gradParam(b, 0) : -1, gb = op.affine() ? gradParam(b, 1) : -1;
        if (gw >= 0 || gb >= 0)
            be.elementwise(GROUPNORM_BWD_PARAMS, c, p(x), p(gy), p(gw), p(gb), p(mean), p(rstd), n, c, op.groups(), s,
                    flag(op.affine() && accParam(b, 0)), flag(op.affine() && accParam(b, 1)));
        if (b.gradIn()[0] < 0) return;
        long w = op.affine() ? param(b, 0) : -1;
        be.elementwise(GROUPNORM_BWD_DX, (long) n * op.groups(), p(x), p(w), p(gy), p(b.gradIn()[0]), p(mean), p(rstd),
                n * op.groups(), op.groups(), cg, s, flag(accIn(b, 0)));
    }

    /** Max or average pooling over [N, C, D, H, W], forward or backward (spatial3d.cu). */
    private void pool3d(Node node, Bindings b, Triple k, Triple s, Triple pad, boolean max, boolean forward) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        if (!forward && b.gradIn()[0] < 0) return;
        List<Object> a = new ArrayList<>();
        Object idx = max ? p(need(aux(b, 0), node, "aux indices")) : null;
        if (forward) a.addAll(List.of(p(b.in()[0]), p(b.out()[0])));   // (x, y[, idx])
        else a.addAll(List.of(p(b.gradOut()[0]), p(b.gradIn()[0])));   // ([idx, ]gy, gx)
        if (max) a.add(forward ? 2 : 0, idx);
        a.addAll(List.of(xs.dim(0) * xs.dim(1), xs.dim(2), xs.dim(3), xs.dim(4), ys.dim(2), ys.dim(3), ys.dim(4),
                k.d(), k.h(), k.w(), s.d(), s.h(), s.w(), pad.d(), pad.h(), pad.w()));
        if (!forward) a.add(flag(accIn(b, 0)));
        Kernels.Spec spec = max ? (forward ? MAXPOOL3D_FWD : MAXPOOL3D_BWD) : (forward ? AVGPOOL3D_FWD : AVGPOOL3D_BWD);
        be.elementwise(spec, forward ? ys.numel() : xs.numel(), a.toArray());
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

    /** [outer, len, inner] around the op's axis of the input. */
    private static int[] lines(Node node, int axis) {
        Shape xs = node.inShapes().get(0);
        int ax = axis(axis, xs.rank());
        return new int[]{(int) xs.numel(0, ax), xs.dim(ax), (int) xs.numel(ax + 1, xs.rank())};
    }

    /** dst (+)= the running sum of src along the op's axis (forward, or backward with reverse flipped). */
    private void cumSum(Node node, CumSum op, long src, long dst, boolean reverse, boolean acc) {
        int[] l = lines(node, op.axis());
        long count = (long) l[0] * l[2];
        be.elementwise(CUMSUM_SCAN, count, p(src), p(dst), count, l[1], l[2], flag(op.exclusive()), flag(reverse),
                flag(acc));
    }

    /**
     * ScatterND: forward copies data then writes the slices; backward gathers the updates' gradient and passes
     * data's (zeroed where written, for reduction none). Indices must be int64; data of rank 6 or less.
     */
    private void scatterNd(Graph g, Node node, ScatterND op, Bindings b, boolean forward) {
        Shape xs = node.inShapes().get(0), is = node.inShapes().get(1);
        if (xs.rank() > 6) throw new BackendException(node.name() + " (ScatterND): the CUDA backend scatters into "
                + "tensors of rank 6 or less, not " + xs.rank());
        if (g.value(node.inputs()[1]).dtype() != DType.INT64)
            throw new BackendException(node.name() + " (ScatterND): the CUDA backend needs int64 indices");
        int k = is.dim(-1);
        long tuples = is.numel() / k, n = xs.numel(), slice = xs.numel(k, xs.rank());
        Object[] dims = new Object[6];
        for (int q = 0; q < 6; q++) dims[q] = q < xs.rank() ? xs.dim(q) : 1;
        long idx = need(b.in()[1], node, "the indices");
        if (forward) {
            long x = b.in()[0], y = b.out()[0];
            if (y != x) pw.copyAcc(x, y, n, false);
            be.elementwise(SCATTER_ND_FWD, slice, join(new Object[]{p(b.in()[2]), p(idx), p(y), tuples, k, slice,
                    flag(op.add())}, dims));
            return;
        }
        long gy = b.gradOut()[0], gx = b.gradIn()[0], gu = b.gradIn()[2];
        if (gu >= 0) {
            if (gy >= 0) be.elementwise(SCATTER_ND_BWD_UPD, tuples * slice, join(new Object[]{p(gy), p(idx), p(gu),
                    tuples, k, slice, flag(accIn(b, 2))}, dims));
            else if (!accIn(b, 2)) be.memsetZero(gu, 4 * tuples * slice);
        }
        if (gx >= 0) {
            if (gy < 0) {
                if (!accIn(b, 0)) be.memsetZero(gx, 4 * n);
            } else if (op.add()) {
                if (gx != gy || accIn(b, 0)) pw.copyAcc(gy, gx, n, accIn(b, 0));
            } else be.elementwise(SCATTER_ND_BWD_DATA, n, join(new Object[]{p(gy), p(idx), p(gx), n, tuples, k,
                    slice, flag(accIn(b, 0))}, dims));
        }
    }

    private void topK(Node node, TopK op, Bindings b, boolean forward) {
        int[] l = lines(node, op.axis());
        long count = (long) l[0] * l[2];
        if (forward) {
            be.elementwise(TOPK_FWD, count, p(b.in()[0]), p(b.out()[0]), p(b.out()[1]), count, l[1], l[2], op.k(),
                    flag(op.largest()));
            return;
        }
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        long gy = b.gradOut()[0];
        if (gy < 0) {
            if (!accIn(b, 0)) be.memsetZero(gx, node.inShapes().get(0).numel() * 4);
            return;
        }
        be.elementwise(TOPK_BWD, count, p(gy), p(need(b.out()[1], node, "the indices")), p(gx), count, l[1], l[2],
                op.k(), flag(accIn(b, 0)));
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
        // outputs sized at an upper bound are int64 indices: no gradient reaches the inputs
        int outs = ((Opaque) node.op()).bound() == Opaque.Bound.NONE ? b.gradOut().length : 0;
        if (gx >= 0) {
            int alias = -1;
            for (int k = 0; k < outs; k++) if (b.gradOut()[k] == gx) alias = k;
            boolean written = accIn(b, 0);
            if (alias >= 0) {
                pw.copyAcc(b.gradOut()[alias], gx, n, written);
                written = true;
            }
            for (int k = 0; k < outs; k++) {
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
        int n = q.dim(0), tq = q.dim(1), d = q.dim(2), tk = k.dim(1), dk = k.dim(2), h = a.heads(), dh = d / h;
        int group = h / a.kvHeads();
        boolean eager = a.form() == Attention.Form.EAGER;
        checkHeadDim(node, dh);
        checkGrid(node, n * h);
        // the eager form keeps no log-sum-exp: its scratch holds it while the probabilities are written
        long lse = eager ? need(b.workspace(), node, "the workspace") : need(aux(b, 0), node, "aux lse");
        int tile = Math.max(1, Math.min(64, SMEM_BYTES / (8 * dh)));
        float scale = (float) (1.0 / Math.sqrt(dh));
        be.launch(ATTN_FWD, (tq + ATT_WARPS - 1) / ATT_WARPS, n * h, 1, 32 * ATT_WARPS, 1, 1, 2 * tile * dh * 4,
                p(b.in()[0]), p(b.in()[1]), p(b.in()[2]), p(b.out()[0]), p(lse), tq, tk, d, h, dh,
                flag(a.causal()), scale, tile, group, dk);
        if (!eager) return;
        long probs = (long) n * h * tq * tk;
        be.elementwise(ATTN_PROBS, probs, p(b.in()[0]), p(b.in()[1]), p(lse), p(need(aux(b, 0), node, "aux probs")),
                probs, tq, tk, d, dk, h, group, dh, flag(a.causal()), scale);
        if (!a.grouped()) return;
        long rep = (long) n * tk * d;
        be.elementwise(KV_REPEAT, rep, p(b.in()[1]), p(need(aux(b, 1), node, "aux key_rep")), rep, d, dk, group, dh);
        be.elementwise(KV_REPEAT, rep, p(b.in()[2]), p(need(aux(b, 2), node, "aux value_rep")), rep, d, dk, group,
                dh);
    }

    private void attentionBwd(Node node, Attention a, Bindings b) {
        if (a.form() == Attention.Form.EAGER) {
            eagerAttentionBwd(node, a, b);
            return;
        }
        Shape q = node.inShapes().get(0), k = node.inShapes().get(1);
        int n = q.dim(0), tq = q.dim(1), d = q.dim(2), tk = k.dim(1), dk = k.dim(2), h = a.heads(), dh = d / h;
        int group = h / a.kvHeads();
        checkHeadDim(node, dh);
        checkGrid(node, n * h);
        float scale = (float) (1.0 / Math.sqrt(dh));
        long qq = need(b.in()[0], node, "q"), kk = need(b.in()[1], node, "k"), vv = need(b.in()[2], node, "v");
        long o = need(b.out()[0], node, "the output"), lse = need(aux(b, 0), node, "aux lse"), go = b.gradOut()[0];
        long gq = b.gradIn()[0], gk = b.gradIn()[1], gv = b.gradIn()[2];
        if (gk >= 0 || gv >= 0) {   // before dQ: dK/dV read all of dO
            int tile = Math.max(1, Math.min(64, SMEM_BYTES / (4 * (2 * dh + 2))));
            be.launch(ATTN_BWD_DKV, (tk + ATT_WARPS - 1) / ATT_WARPS, n * a.kvHeads(), 1, 32 * ATT_WARPS, 1, 1,
                    (2 * tile * dh + 2 * tile) * 4,
                    p(qq), p(kk), p(vv), p(o), p(go), p(lse), p(gk), p(gv), tq, tk, d, h, dh, flag(a.causal()), scale,
                    tile, flag(accIn(b, 1)), flag(accIn(b, 2)), group, dk);
        }
        if (gq >= 0) {
            int tile = Math.max(1, Math.min(64, SMEM_BYTES / (8 * dh)));
            be.launch(ATTN_BWD_DQ, (tq + ATT_WARPS - 1) / ATT_WARPS, n * h, 1, 32 * ATT_WARPS, 1, 1, 2 * tile * dh * 4,
                    p(qq), p(kk), p(vv), p(o), p(go), p(lse), p(gq), tq, tk, d, h, dh, flag(a.causal()), scale, tile,
                    flag(accIn(b, 0)), group, dk);
        }
    }

    /**
     * Backward of the eager form from its probabilities: dP = dO V^T into the workspace, dS = P (dP - rowsum(dP P))
     * scaled in place, then dQ = dS K, dK = dS^T Q and dV = P^T dO (key and value gradients summed over a group).
     * Grouped heads read the repeated k and v the forward kept.
     */
    private void eagerAttentionBwd(Node node, Attention a, Bindings b) {
        Shape q = node.inShapes().get(0), k = node.inShapes().get(1);
        int n = q.dim(0), tq = q.dim(1), d = q.dim(2), tk = k.dim(1), dk = k.dim(2), h = a.heads(), dh = d / h;
        int group = h / a.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(dh));
        long gq = b.gradIn()[0], gk = b.gradIn()[1], gv = b.gradIn()[2];
        // q is kept only for dK, k only for dQ, v only for dP (TrainingGraph.savedFor)
        long probs = need(aux(b, 0), node, "aux probs"), go = b.gradOut()[0];
        long qq = gk < 0 ? -1 : need(b.in()[0], node, "q");
        long kk = gq < 0 ? -1 : a.grouped() ? need(aux(b, 1), node, "aux key_rep") : need(b.in()[1], node, "k");
        int kvWidth = a.grouped() ? d : dk, kvGroup = a.grouped() ? 1 : group;
        long ds = need(b.workspace(), node, "the workspace");
        long total = (long) n * h * tq * tk;
        if (gq >= 0 || gk >= 0) {
            long vv = a.grouped() ? need(aux(b, 2), node, "aux value_rep") : need(b.in()[2], node, "v");
            be.elementwise(EAGER_DP, total, p(go), p(vv), p(ds), total, tq, tk, d, kvWidth, h, kvGroup, dh);
            be.launch(EAGER_DS, i32((long) n * h * tq), 1, 1, 128, 1, 1, 0, p(probs), p(ds), tk, scale);
        }
        if (gq >= 0) {
            long e = (long) n * tq * d;
            be.elementwise(EAGER_DQ, e, p(ds), p(kk), p(gq), e, tq, tk, d, kvWidth, h, kvGroup, dh,
                    flag(accIn(b, 0)));
        }
        if (gk >= 0 || gv >= 0) {
            long e = (long) n * tk * dk;
            be.elementwise(EAGER_DKV, e, p(ds), p(probs), p(qq), p(go), p(gk), p(gv), e, tq, tk, d, dk, h, group, dh,
                    flag(accIn(b, 1)), flag(accIn(b, 2)));
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

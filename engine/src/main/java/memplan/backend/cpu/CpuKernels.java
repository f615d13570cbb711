package memplan.backend.cpu;

import memplan.ops.Add;
import memplan.ops.Compare;
import memplan.ops.Attention;
import memplan.ops.AvgPool2d;
import memplan.ops.BatchNorm2d;
import memplan.ops.Cast;
import memplan.ops.Clip;
import memplan.ops.Concat;
import memplan.ops.ConstElementwise;
import memplan.ops.Conv2d;
import memplan.ops.Conv3d;
import memplan.ops.GroupNorm;
import memplan.ops.MaxPool3d;
import memplan.ops.AvgPool3d;
import memplan.ops.ConvTranspose2d;
import memplan.ops.ConvTranspose3d;
import memplan.ops.CrossEntropy;
import memplan.ops.Div;
import memplan.ops.Dropout;
import memplan.ops.Embedding;
import memplan.ops.Flatten;
import memplan.ops.GELU;
import memplan.ops.GlobalAvgPool;
import memplan.ops.HardSigmoid;
import memplan.ops.HardSwish;
import memplan.ops.Fill;
import memplan.ops.Input;
import memplan.ops.LSTMCell;
import memplan.ops.LayerNorm;
import memplan.ops.RMSNorm;
import memplan.ops.GatedActivation;
import memplan.ops.RotaryEmbedding;
import memplan.ops.LeakyReLU;
import memplan.ops.Linear;
import memplan.ops.MaskedFill;
import memplan.ops.Mish;
import memplan.ops.SiLU;
import memplan.ops.MatMul;
import memplan.ops.MaxPool2d;
import memplan.ops.MseLoss;
import memplan.ops.Mul;
import memplan.ops.Op;
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
import memplan.ops.Resize;
import memplan.ops.Flip;

/**
 * The CPU kernel of every op: one exhaustive {@link OpVisitor}, so an op without a CPU kernel does not compile.
 * Kernels are stateless and read their attributes from {@code args.node().op()}, so one instance serves every node
 * of a type. Views (Reshape, Flatten) get a kernel that throws, since the executor must not call one; Input has none
 * (the executor writes data inputs into the arena).
 */
public final class CpuKernels {
    private static final Kernels KERNELS = new Kernels();

    private CpuKernels() {
    }

    /**
     * The kernel of an op, wrapped in checks of the tensors it is given (counts, sizes, dtypes); throws for Input.
     */
    public static CpuKernel of(Op op) {
        CpuKernel k = unchecked(op);
        return op.isView() ? k : new CheckedKernel(k);
    }

    /** The kernel without argument checks. */
    public static CpuKernel unchecked(Op op) {
        CpuKernel k = op.accept(KERNELS);
        if (k == null)
            throw new IllegalArgumentException("Input has no kernel: the executor writes data inputs into the arena");
        return k;
    }

    /** Whether an op has a kernel that computes something (false for views and Input). */
    public static boolean hasKernel(Op op) {
        return !op.isView() && op.accept(KERNELS) != null;
    }

    /** One shared, stateless kernel per op type. */
    private static final class Kernels implements OpVisitor<CpuKernel> {
        private final CpuKernel relu = new PointwiseKernels.ReLUK();
        private final CpuKernel gelu = new PointwiseKernels.Smooth(PointwiseKernels.Fn.GELU);
        private final CpuKernel sigmoid = new PointwiseKernels.Smooth(PointwiseKernels.Fn.SIGMOID);
        private final CpuKernel tanh = new PointwiseKernels.Smooth(PointwiseKernels.Fn.TANH);
        private final CpuKernel leakyRelu = new UnaryKernels.LeakyReLUK();
        private final CpuKernel hardSigmoid = new UnaryKernels.HardSigmoidK();
        private final CpuKernel hardSwish = new UnaryKernels.HardSwishK();
        private final CpuKernel sqrt = new UnaryKernels.SqrtK();
        private final CpuKernel clip = new UnaryKernels.ClipK();
        private final CpuKernel cast = new UnaryKernels.CastK();
        private final CpuKernel dropout = new PointwiseKernels.DropoutK();
        private final CpuKernel mish = new UnaryKernels.MishK();
        private final CpuKernel silu = new UnaryKernels.SiLUK();
        private final CpuKernel constant = new UnaryKernels.ConstK();
        private final CpuKernel add = new BinaryKernels.SameOrBroadcastK(new BinaryKernels.AddK(),
                new BinaryKernels.BinaryK(BinaryKernels.Bin.ADD));
        private final CpuKernel mul = new BinaryKernels.SameOrBroadcastK(new BinaryKernels.MulK(),
                new BinaryKernels.BinaryK(BinaryKernels.Bin.MUL));
        private final CpuKernel sub = new BinaryKernels.BinaryK(BinaryKernels.Bin.SUB);
        private final CpuKernel div = new BinaryKernels.BinaryK(BinaryKernels.Bin.DIV);
        private final CpuKernel pow = new BinaryKernels.BinaryK(BinaryKernels.Bin.POW);
        private final CpuKernel maskedFill = new BinaryKernels.MaskedFillK();
        private final CpuKernel compare = new BinaryKernels.CompareK();
        private final CpuKernel reduceMean = new ReduceKernels.ReduceMeanK();
        private final CpuKernel cumSum = new ReduceKernels.CumSumK();
        private final CpuKernel topK = new ReduceKernels.TopKK();
        private final CpuKernel scatterND = new ScatterKernels.ScatterNDK();
        private final CpuKernel reshape = new TensorKernels.ViewK("Reshape");
        private final CpuKernel flatten = new TensorKernels.ViewK("Flatten");
        private final CpuKernel transpose = new TensorKernels.TransposeK();
        private final CpuKernel concat = new TensorKernels.ConcatK();
        private final CpuKernel slice = new TensorKernels.SliceK();
        private final CpuKernel split = new TensorKernels.SplitK();
        private final CpuKernel pad = new TensorKernels.PadK();
        private final CpuKernel fill = new TensorKernels.FillK();
        private final CpuKernel upsample = new PoolKernels.UpsampleK();
        private final CpuKernel linear = new GemmKernels.LinearK();
        private final CpuKernel matmul = new GemmKernels.MatMulK();
        private final CpuKernel conv = new GemmKernels.ConvK();
        private final CpuKernel convTranspose = new GemmKernels.ConvTransposeK();
        private final CpuKernel batchNorm = new NormKernels.BatchNormK();
        private final CpuKernel layerNorm = new NormKernels.LayerNormK();
        private final CpuKernel rmsNorm = new TransformerKernels.RMSNormK();
        private final CpuKernel gated = new TransformerKernels.GatedActivationK();
        private final CpuKernel rotary = new TransformerKernels.RotaryK();
        private final CpuKernel softmax = new NormKernels.SoftmaxK();
        private final CpuKernel maxPool = new PoolKernels.MaxPoolK();
        private final CpuKernel avgPool = new PoolKernels.AvgPoolK();
        private final CpuKernel globalAvgPool = new PoolKernels.GlobalAvgPoolK();
        private final CpuKernel conv3d = new Spatial3dKernels.Conv3dK();
        private final CpuKernel groupNorm = new GroupNormKernels.GroupNormK();
        private final CpuKernel maxPool3d = new Spatial3dKernels.MaxPool3dK();
        private final CpuKernel avgPool3d = new Spatial3dKernels.AvgPool3dK();
        private final CpuKernel embedding = new SequenceKernels.EmbeddingK();
        private final CpuKernel lstmCell = new SequenceKernels.LSTMCellK();
        private final CpuKernel attention = new AttentionKernels.AttentionK();
        private final CpuKernel crossEntropy = new LossKernels.CrossEntropyK();
        private final CpuKernel mseLoss = new LossKernels.MseLossK();
        private final CpuKernel opaque = new OpaqueKernel.OpaqueK(); // a placeholder: copies input 0
        private final CpuKernel convTranspose3d = new ConvTranspose3dKernel();
        private final CpuKernel resize = new ResizeKernels.ResizeK();
        private final CpuKernel flip = new ResizeKernels.FlipK();

        @Override public CpuKernel visit(ReLU op) { return relu; }
        @Override public CpuKernel visit(GELU op) { return gelu; }
        @Override public CpuKernel visit(Sigmoid op) { return sigmoid; }
        @Override public CpuKernel visit(Tanh op) { return tanh; }
        @Override public CpuKernel visit(LeakyReLU op) { return leakyRelu; }
        @Override public CpuKernel visit(HardSigmoid op) { return hardSigmoid; }
        @Override public CpuKernel visit(HardSwish op) { return hardSwish; }
        @Override public CpuKernel visit(Sqrt op) { return sqrt; }
        @Override public CpuKernel visit(Clip op) { return clip; }
        @Override public CpuKernel visit(Cast op) { return cast; }
        @Override public CpuKernel visit(Dropout op) { return dropout; }
        @Override public CpuKernel visit(Mish op) { return mish; }
        @Override public CpuKernel visit(SiLU op) { return silu; }
        @Override public CpuKernel visit(ConstElementwise op) { return constant; }
        @Override public CpuKernel visit(Add op) { return add; }
        @Override public CpuKernel visit(Mul op) { return mul; }
        @Override public CpuKernel visit(Sub op) { return sub; }
        @Override public CpuKernel visit(Div op) { return div; }
        @Override public CpuKernel visit(Pow op) { return pow; }
        @Override public CpuKernel visit(MaskedFill op) { return maskedFill; }
        @Override public CpuKernel visit(Compare op) { return compare; }
        @Override public CpuKernel visit(ReduceMean op) { return reduceMean; }
        @Override public CpuKernel visit(CumSum op) { return cumSum; }
        @Override public CpuKernel visit(TopK op) { return topK; }
        @Override public CpuKernel visit(ScatterND op) { return scatterND; }
        @Override public CpuKernel visit(Reshape op) { return reshape; }
        @Override public CpuKernel visit(Flatten op) { return flatten; }
        @Override public CpuKernel visit(Transpose op) { return transpose; }
        @Override public CpuKernel visit(Concat op) { return concat; }
        @Override public CpuKernel visit(Slice op) { return slice; }
        @Override public CpuKernel visit(Split op) { return split; }
        @Override public CpuKernel visit(Pad op) { return pad; }
        @Override public CpuKernel visit(Upsample op) { return upsample; }
        @Override public CpuKernel visit(Linear op) { return linear; }
        @Override public CpuKernel visit(MatMul op) { return matmul; }
        @Override public CpuKernel visit(Conv2d op) { return conv; }
        @Override public CpuKernel visit(ConvTranspose2d op) { return convTranspose; }
        @Override public CpuKernel visit(BatchNorm2d op) { return batchNorm; }
        @Override public CpuKernel visit(LayerNorm op) { return layerNorm; }
        @Override public CpuKernel visit(RMSNorm op) { return rmsNorm; }
        @Override public CpuKernel visit(GatedActivation op) { return gated; }
        @Override public CpuKernel visit(RotaryEmbedding op) { return rotary; }
        @Override public CpuKernel visit(Softmax op) { return softmax; }
        @Override public CpuKernel visit(MaxPool2d op) { return maxPool; }
        @Override public CpuKernel visit(AvgPool2d op) { return avgPool; }
        @Override public CpuKernel visit(GlobalAvgPool op) { return globalAvgPool; }
        @Override public CpuKernel visit(Conv3d op) { return conv3d; }
        @Override public CpuKernel visit(GroupNorm op) { return groupNorm; }
        @Override public CpuKernel visit(MaxPool3d op) { return maxPool3d; }
        @Override public CpuKernel visit(AvgPool3d op) { return avgPool3d; }
        @Override public CpuKernel visit(Embedding op) { return embedding; }
        @Override public CpuKernel visit(LSTMCell op) { return lstmCell; }
        @Override public CpuKernel visit(Attention op) { return attention; }
        @Override public CpuKernel visit(CrossEntropy op) { return crossEntropy; }
        @Override public CpuKernel visit(MseLoss op) { return mseLoss; }
        @Override public CpuKernel visit(Opaque op) { return opaque; }
        @Override public CpuKernel visit(Input op) { return null; }
        @Override public CpuKernel visit(Fill op) { return fill; }
        @Override public CpuKernel visit(ConvTranspose3d op) { return convTranspose3d; }
        @Override public CpuKernel visit(Resize op) { return resize; }
        @Override public CpuKernel visit(Flip op) { return flip; }
    }
}

package memplan.backend.cpu;

import memplan.ops.Op;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The registry of CPU kernels: one per op type of {@link memplan.ops.OpRegistry}. Kernels read their attributes
 * from {@code args.node().op()}, so one stateless instance serves every node of a type. Views (Reshape, Flatten)
 * get a kernel that throws, since the executor must not call one; Input has none.
 */
public final class CpuKernels {
    private static final Map<String, Supplier<CpuKernel>> FACTORIES = new ConcurrentHashMap<>();
    private static final Map<String, CpuKernel> CACHE = new ConcurrentHashMap<>();

    static {
        FACTORIES.put("Conv2d", GemmKernels.ConvK::new);
        FACTORIES.put("Linear", GemmKernels.LinearK::new);
        FACTORIES.put("MatMul", GemmKernels.MatMulK::new);
        FACTORIES.put("BatchNorm2d", NormKernels.BatchNormK::new);
        FACTORIES.put("LayerNorm", NormKernels.LayerNormK::new);
        FACTORIES.put("Softmax", NormKernels.SoftmaxK::new);
        FACTORIES.put("ReLU", PointwiseKernels.ReLUK::new);
        FACTORIES.put("GELU", () -> new PointwiseKernels.Smooth(PointwiseKernels.Fn.GELU));
        FACTORIES.put("Sigmoid", () -> new PointwiseKernels.Smooth(PointwiseKernels.Fn.SIGMOID));
        FACTORIES.put("Tanh", () -> new PointwiseKernels.Smooth(PointwiseKernels.Fn.TANH));
        FACTORIES.put("Dropout", PointwiseKernels.DropoutK::new);
        FACTORIES.put("MaxPool2d", PoolKernels.MaxPoolK::new);
        FACTORIES.put("AvgPool2d", PoolKernels.AvgPoolK::new);
        FACTORIES.put("GlobalAvgPool", PoolKernels.GlobalAvgPoolK::new);
        FACTORIES.put("Upsample", PoolKernels.UpsampleK::new);
        FACTORIES.put("Add", TensorKernels.AddK::new);
        FACTORIES.put("Mul", TensorKernels.MulK::new);
        FACTORIES.put("Concat", TensorKernels.ConcatK::new);
        FACTORIES.put("Slice", TensorKernels.SliceK::new);
        FACTORIES.put("Transpose", TensorKernels.TransposeK::new);
        FACTORIES.put("Reshape", () -> new TensorKernels.ViewK("Reshape"));
        FACTORIES.put("Flatten", () -> new TensorKernels.ViewK("Flatten"));
        FACTORIES.put("Embedding", SequenceKernels.EmbeddingK::new);
        FACTORIES.put("Attention", SequenceKernels.AttentionK::new);
        FACTORIES.put("LSTMCell", SequenceKernels.LSTMCellK::new);
        FACTORIES.put("CrossEntropy", SequenceKernels.CrossEntropyK::new);
        FACTORIES.put("MseLoss", SequenceKernels.MseLossK::new);
        // ops of the ONNX importer
        FACTORIES.put("ConvTranspose2d", ImportedOpKernels.ConvTransposeK::new);
        FACTORIES.put("LeakyReLU", ImportedOpKernels.LeakyReLUK::new);
        FACTORIES.put("HardSigmoid", ImportedOpKernels.HardSigmoidK::new);
        FACTORIES.put("HardSwish", ImportedOpKernels.HardSwishK::new);
        FACTORIES.put("Sqrt", ImportedOpKernels.SqrtK::new);
        FACTORIES.put("Clip", ImportedOpKernels.ClipK::new);
        FACTORIES.put("Cast", ImportedOpKernels.CastK::new);
        FACTORIES.put("BroadcastAdd", () -> new ImportedOpKernels.BinaryK(ImportedOpKernels.Bin.ADD));
        FACTORIES.put("BroadcastMul", () -> new ImportedOpKernels.BinaryK(ImportedOpKernels.Bin.MUL));
        FACTORIES.put("Sub", () -> new ImportedOpKernels.BinaryK(ImportedOpKernels.Bin.SUB));
        FACTORIES.put("Div", () -> new ImportedOpKernels.BinaryK(ImportedOpKernels.Bin.DIV));
        FACTORIES.put("Pow", () -> new ImportedOpKernels.BinaryK(ImportedOpKernels.Bin.POW));
        FACTORIES.put("ConstElementwise", ImportedOpKernels.ConstK::new);
        FACTORIES.put("ReduceMean", ImportedOpKernels.ReduceMeanK::new);
        FACTORIES.put("Split", ImportedOpKernels.SplitK::new);
        FACTORIES.put("Pad", ImportedOpKernels.PadK::new);
        FACTORIES.put("MaskedFill", ImportedOpKernels.MaskedFillK::new);
        FACTORIES.put("Opaque", ImportedOpKernels.OpaqueK::new); // a placeholder: copies input 0
    }

    private CpuKernels() {
    }

    /**
     * The kernel of an op, wrapped in checks of the tensors it is given (counts, sizes, dtypes); throws for Input
     * (data is written by the executor) and for unknown op types.
     */
    public static CpuKernel of(Op op) {
        CpuKernel k = unchecked(op);
        return op.isView() ? k : new CheckedKernel(k);
    }

    /** The kernel without argument checks. */
    public static CpuKernel unchecked(Op op) {
        String type = op.type();
        if (type.equals("Input"))
            throw new IllegalArgumentException("Input has no kernel: the executor writes data inputs into the arena");
        CpuKernel k = CACHE.get(type);
        if (k != null) return k;
        Supplier<CpuKernel> f = FACTORIES.get(type);
        if (f == null)
            throw new IllegalArgumentException("no CPU kernel for op '" + type + "' (kernels exist for " + FACTORIES.keySet() + ")");
        return CACHE.computeIfAbsent(type, t -> f.get());
    }

    /** Whether an op type has a kernel that computes something (false for views and Input). */
    public static boolean hasKernel(String type) {
        return FACTORIES.containsKey(type) && !type.equals("Reshape") && !type.equals("Flatten");
    }

    /** Registers a kernel for an op type registered outside the engine. */
    public static void register(String type, Supplier<CpuKernel> factory) {
        FACTORIES.put(type, factory);
        CACHE.remove(type);
    }
}

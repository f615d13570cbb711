package memplan.ops;

/**
 * One method per op record: the exhaustive dispatch of the closed op set (Java 17 has no pattern-matching switch
 * over sealed types, so a visitor gives the same compile-time check). Each consumer of ops implements it once —
 * the CPU kernels, the CUDA ops, the JSON codec, the ONNX exporter — and a new op's {@code visit} method makes
 * the compiler name every consumer that lacks it. No defaults here on purpose.
 *
 * @param <R> what the consumer makes of an op (a kernel, a JSON node, ...)
 */
public interface OpVisitor<R> {
    // unary elementwise
    R visit(ReLU op);
    R visit(GELU op);
    R visit(Sigmoid op);
    R visit(Tanh op);
    R visit(LeakyReLU op);
    R visit(HardSigmoid op);
    R visit(HardSwish op);
    R visit(Sqrt op);
    R visit(Clip op);
    R visit(Cast op);
    R visit(Dropout op);
    R visit(Mish op);
    R visit(SiLU op);
    R visit(ConstElementwise op);

    // binary elementwise, broadcasting
    R visit(Add op);
    R visit(Mul op);
    R visit(Sub op);
    R visit(Div op);
    R visit(Pow op);
    R visit(MaskedFill op);
    R visit(GatedActivation op);
    R visit(Compare op);

    // reductions
    R visit(ReduceMean op);
    R visit(CumSum op);
    R visit(TopK op);

    // movement and views
    R visit(Reshape op);
    R visit(Flatten op);
    R visit(Transpose op);
    R visit(Concat op);
    R visit(Slice op);
    R visit(Split op);
    R visit(Pad op);
    R visit(Upsample op);
    R visit(Resize op);
    R visit(Flip op);
    R visit(ScatterND op);

    // GEMM-like
    R visit(Linear op);
    R visit(MatMul op);
    R visit(Conv2d op);
    R visit(ConvTranspose2d op);
    R visit(Conv3d op);
    R visit(ConvTranspose3d op);

    // normalisation
    R visit(BatchNorm2d op);
    R visit(LayerNorm op);
    R visit(RMSNorm op);
    R visit(Softmax op);
    R visit(GroupNorm op);

    // pooling
    R visit(MaxPool2d op);
    R visit(AvgPool2d op);
    R visit(GlobalAvgPool op);
    R visit(MaxPool3d op);
    R visit(AvgPool3d op);

    // sequence and recurrent
    R visit(Embedding op);
    R visit(LSTMCell op);
    R visit(RotaryEmbedding op);

    // attention
    R visit(Attention op);

    // losses
    R visit(CrossEntropy op);
    R visit(MseLoss op);

    // opaque
    R visit(Opaque op);

    // data sources
    R visit(Input op);
    R visit(Fill op);
}

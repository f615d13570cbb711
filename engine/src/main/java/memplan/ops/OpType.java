package memplan.ops;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The names of the closed op set as model files write them ("Conv2d"), one constant per op record, spelt like the
 * record so that {@code OpType.valueOf(name)} reads a file's "op". Readers switch over it exhaustively (a switch
 * expression over an enum must cover every constant), so a new op's constant makes the compiler name each reader
 * that cannot build it yet. {@link Op#type()} returns the same name.
 */
public enum OpType {
    // the most used first: error messages list them in this order (the kinds are in OpVisitor)
    Input, Conv2d, Linear, MatMul, BatchNorm2d, LayerNorm, ReLU, GELU, Sigmoid, Tanh, MaxPool2d, AvgPool2d,
    GlobalAvgPool, Add, Mul, Concat, Flatten, Reshape, Transpose, Dropout, Embedding, Softmax, Attention, LSTMCell,
    CrossEntropy, MseLoss, Upsample, Slice, ConvTranspose2d, LeakyReLU, HardSigmoid, HardSwish, Sqrt, Clip, Cast, Sub,
    Div, Pow, ConstElementwise, ReduceMean, Split, Pad, Opaque, MaskedFill, Mish, SiLU,
    RMSNorm, GatedActivation, RotaryEmbedding, Fill, Conv3d, MaxPool3d, AvgPool3d, GroupNorm,
    Compare, ConvTranspose3d, Resize, Flip, CumSum, TopK, ScatterND;

    /** Every op name, in this declaration order. */
    public static Set<String> names() {
        Set<String> out = new LinkedHashSet<>();
        for (OpType t : values()) out.add(t.name());
        return Collections.unmodifiableSet(out);
    }

    /** The constant of an op name, or null when no op has that name. */
    public static OpType of(String name) {
        for (OpType t : values()) if (t.name().equals(name)) return t;
        return null;
    }
}

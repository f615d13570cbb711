package memplan.ops;

import memplan.io.ModelFormatException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** Maps the "op" names of model files to op parsers. Adding an op means adding one line here. */
public final class OpRegistry {
    private static final Map<String, Function<OpArgs, Op>> PARSERS = new LinkedHashMap<>();

    static {
        PARSERS.put("Input", Input::fromJson);
        PARSERS.put("Conv2d", Conv2d::fromJson);
        PARSERS.put("Linear", Linear::fromJson);
        PARSERS.put("MatMul", MatMul::fromJson);
        PARSERS.put("BatchNorm2d", BatchNorm2d::fromJson);
        PARSERS.put("LayerNorm", LayerNorm::fromJson);
        PARSERS.put("ReLU", a -> new ReLU());
        PARSERS.put("GELU", a -> new GELU());
        PARSERS.put("Sigmoid", a -> new Sigmoid());
        PARSERS.put("Tanh", a -> new Tanh());
        PARSERS.put("MaxPool2d", MaxPool2d::fromJson);
        PARSERS.put("AvgPool2d", AvgPool2d::fromJson);
        PARSERS.put("GlobalAvgPool", a -> new GlobalAvgPool());
        PARSERS.put("Add", a -> new Add());
        PARSERS.put("Mul", a -> new Mul());
        PARSERS.put("Concat", Concat::fromJson);
        PARSERS.put("Flatten", Flatten::fromJson);
        PARSERS.put("Reshape", Reshape::fromJson);
        PARSERS.put("Transpose", Transpose::fromJson);
        PARSERS.put("Dropout", Dropout::fromJson);
        PARSERS.put("Embedding", Embedding::fromJson);
        PARSERS.put("Softmax", a -> new Softmax());
        PARSERS.put("Attention", Attention::fromJson);
        PARSERS.put("LSTMCell", LSTMCell::fromJson);
        PARSERS.put("CrossEntropy", CrossEntropy::fromJson);
        PARSERS.put("MseLoss", a -> new MseLoss());
        PARSERS.put("Upsample", Upsample::fromJson);
        PARSERS.put("Slice", Slice::fromJson);
        PARSERS.put("ConvTranspose2d", ConvTranspose2d::fromJson);
        PARSERS.put("LeakyReLU", LeakyReLU::fromJson);
        PARSERS.put("HardSigmoid", HardSigmoid::fromJson);
        PARSERS.put("HardSwish", a -> new HardSwish());
        PARSERS.put("Sqrt", a -> new Sqrt());
        PARSERS.put("Clip", Clip::fromJson);
        PARSERS.put("Cast", Cast::fromJson);
        PARSERS.put("BroadcastAdd", a -> new BroadcastAdd());
        PARSERS.put("BroadcastMul", a -> new BroadcastMul());
        PARSERS.put("Sub", a -> new Sub());
        PARSERS.put("Div", a -> new Div());
        PARSERS.put("Pow", a -> new Pow());
        PARSERS.put("ConstElementwise", ConstElementwise::fromJson);
        PARSERS.put("ReduceMean", ReduceMean::fromJson);
        PARSERS.put("Split", Split::fromJson);
        PARSERS.put("Pad", Pad::fromJson);
        PARSERS.put("Opaque", Opaque::fromJson);
        PARSERS.put("MaskedFill", MaskedFill::fromJson);
    }

    private OpRegistry() {
    }

    public static Set<String> names() {
        return Collections.unmodifiableSet(PARSERS.keySet());
    }

    /** Registers an op defined outside this package (e.g. by an importer). */
    public static synchronized void register(String name, Function<OpArgs, Op> parser) {
        PARSERS.put(name, parser);
    }

    public static Op parse(String name, OpArgs args, String source) {
        Function<OpArgs, Op> p = PARSERS.get(name);
        if (p == null)
            throw new ModelFormatException(source, args.path() + ".op", "unknown op '" + name + "'; known ops: "
                    + String.join(", ", PARSERS.keySet()), null);
        return p.apply(args);
    }
}

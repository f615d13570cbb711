package memplan.samples;

import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Conv2d;
import memplan.ops.Input;
import memplan.ops.MaxPool2d;
import memplan.ops.Op;
import memplan.ops.Pair;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A thin helper over {@link ModelDef.Builder} for the sample builders: inputs, tied layers, common op shorthands. */
final class Net {
    private final ModelDef.Builder b;

    Net(String name, String description) {
        b = ModelDef.builder(name).description(description);
    }

    Net dim(String symbol, int defaultValue) {
        b.dim(symbol, defaultValue);
        return this;
    }

    /** A floating-point input; dims are integers or symbols such as "N". */
    String input(String name, Object... dims) {
        return b.add(name, new Input(dimList(dims), null));
    }

    /** An int64 input (token ids, class labels). */
    String intInput(String name, Object... dims) {
        return b.add(name, new Input(dimList(dims), DType.INT64));
    }

    String add(String name, Op op, String... inputs) {
        return b.add(name, op, inputs);
    }

    /** A layer whose parameters are tied to another layer's: {@code tie} maps "param" to "layer.param". */
    String addTied(String name, Op op, Map<String, String> tie, String... inputs) {
        return b.add(new Layer(name, op, List.of(inputs), tie));
    }

    ModelDef build() {
        return b.build();
    }

    static Conv2d conv(int out, int kernel, int stride, int padding, boolean bias) {
        return Conv2d.of(out, kernel, stride, padding, bias);
    }

    static MaxPool2d maxPool(int kernel, int stride, int padding) {
        return new MaxPool2d(Pair.of(kernel), Pair.of(stride), Pair.of(padding));
    }

    private static List<String> dimList(Object... dims) {
        List<String> out = new ArrayList<>();
        for (Object d : dims) out.add(String.valueOf(d));
        return out;
    }
}

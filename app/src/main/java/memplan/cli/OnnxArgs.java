package memplan.cli;

import memplan.onnx.OnnxOptions;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Options for reading an .onnx model (docs/onnx.md); ignored for JSON models and bundled samples. */
public final class OnnxArgs {
    @Option(names = "--input-shape", paramLabel = "NAME=AxBxC",
            description = "ONNX: the full shape of an input, giving values to its symbolic dimensions, e.g. "
                    + "images=1x3x640x640 (repeatable; the batch comes from --batch).")
    List<String> inputShapes = new ArrayList<>();

    @Option(names = "--loss", paramLabel = "auto|ce|mse",
            description = "ONNX: the loss training attaches to the output: ce (int64 class targets), mse (float "
                    + "targets) or auto (ce for [N, C] outputs, else mse; default: ${DEFAULT-VALUE}).",
            defaultValue = "auto")
    String loss;

    @Option(names = "--opaque",
            description = "ONNX: keep unsupported operators as opaque elementwise ops (shape of their first input) "
                    + "instead of failing; NonZero, NonMaxSuppression and Unique are sized at the upper bound of "
                    + "their data-dependent output.")
    boolean opaque;

    @Option(names = "--batch-symbol", paramLabel = "SYMBOL",
            description = "ONNX: the dim_param that is the batch (default: axis 0 of every data input).")
    String batchSymbol;

    @Option(names = "--onnx-output", paramLabel = "NAME",
            description = "ONNX: the graph output the loss attaches to (default: the first).")
    String output;

    public OnnxOptions options() {
        OnnxOptions o;
        try {
            o = new OnnxOptions(batchSymbol, Map.of(), OnnxOptions.Loss.parse(loss), opaque, output);
            for (String s : inputShapes) {
                var e = OnnxOptions.parseInputShape(s);
                o = o.withInputShape(e.getKey(), e.getValue());
            }
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
        return o;
    }
}

package memplan.cli;

import memplan.graph.Graph;
import memplan.io.AtomicFileWriter;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.onnx.OnnxImporter;
import memplan.ops.Opaque;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** Converts an ONNX model to MemPlan's JSON model format (docs/onnx.md). */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Convert an ONNX model (an inference graph) into a MemPlan model for training analysis: "
                + "weights become parameters, shape computations are folded, a loss is attached.")
public final class ImportCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "The ONNX file.")
    Path file;

    @Option(names = "--out", paramLabel = "MODEL.json",
            description = "Where to write the MemPlan model (default: standard output).")
    Path out;

    @Mixin
    OnnxArgs onnx;

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (out != null) AtomicFileWriter.refuseInputs(out, List.of(file));
        ModelDef m = OnnxImporter.read(file, onnx.options());
        String json = ModelJson.write(m);
        PrintWriter o = spec.commandLine().getOut();
        if (out == null) {
            o.print(json);
            o.flush();
            return 0;
        }
        AtomicFileWriter.writeString(out, json, List.of(file));
        Map<String, Integer> ops = new TreeMap<>();
        for (Layer l : m.layers()) ops.merge(l.op().type(), 1, Integer::sum);
        long params = Graph.instantiate(m, 1, DType.FP32).parameterCount();
        o.printf(Locale.ROOT, "%s: %d layers, %,d parameters -> %s%n", m.name(), m.layers().size(), params, out);
        o.println("ops: " + ops);
        if (ops.containsKey("Opaque")) o.println("note: " + ops.get("Opaque")
                + " unsupported operator(s) kept as Opaque; the profile is approximate");
        List<String> bounded = new ArrayList<>();
        for (Layer l : m.layers())
            if (l.op() instanceof Opaque op && op.bound() != Opaque.Bound.NONE)
                bounded.add(l.name() + " (" + op.source() + ")");
        if (!bounded.isEmpty()) o.println("note: " + bounded + " output a number of elements that depends on the "
                + "data; they are sized at its upper bound (every element selected), so the profile is an upper bound");
        return 0;
    }
}

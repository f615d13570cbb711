package memplan.cli;

import memplan.io.ModelJson;
import memplan.model.ModelDef;
import memplan.onnx.OnnxImporter;
import memplan.onnx.OnnxOptions;
import memplan.samples.SampleModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/** Turns a MODEL argument into a model: a bundled sample name, a path to a .json model file, or an .onnx file. */
public final class ModelSource {
    private ModelSource() {
    }

    /** The file a MODEL argument names, or empty for a bundled sample. */
    public static Optional<Path> file(String arg) {
        return arg == null || SampleModels.exists(arg) ? Optional.empty() : Optional.of(Path.of(arg));
    }

    public static ModelDef load(String arg) {
        return load(arg, OnnxOptions.defaults());
    }

    /** As {@link #load(String)}; an .onnx file is imported with the given options (docs/onnx.md). */
    public static ModelDef load(String arg, OnnxOptions onnx) {
        if (SampleModels.exists(arg)) return SampleModels.load(arg);
        Path p = Path.of(arg);
        if (!Files.exists(p))
            throw new CliException("'" + arg + "' is neither a file nor a bundled model (bundled: "
                    + String.join(", ", SampleModels.names()) + ")");
        if (p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx")) return OnnxImporter.read(p, onnx);
        return ModelJson.read(p);
    }
}

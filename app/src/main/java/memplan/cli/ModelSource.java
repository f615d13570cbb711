package memplan.cli;

import memplan.io.ModelJson;
import memplan.ir.ModelDef;
import memplan.samples.SampleModels;

import java.nio.file.Files;
import java.nio.file.Path;

/** Turns a MODEL argument into a model: a bundled sample name, or a path to a .json model file. */
public final class ModelSource {
    private ModelSource() {
    }

    public static ModelDef load(String arg) {
        if (SampleModels.exists(arg)) return SampleModels.load(arg);
        Path p = Path.of(arg);
        if (!Files.exists(p))
            throw new CliException("'" + arg + "' is neither a file nor a bundled model (bundled: "
                    + String.join(", ", SampleModels.names()) + ")");
        return ModelJson.read(p);
    }
}

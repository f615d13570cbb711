package memplan.samples;

import memplan.io.ModelJson;
import memplan.ir.ModelDef;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The bundled sample models, usable by name wherever a model is expected. */
public final class SampleModels {
    private static final List<String> NAMES = List.of("mlp", "lenet5", "alexnet", "vgg16", "resnet18", "resnet50",
            "unet-small", "lstm-lm", "bert-base", "gpt2-small", "tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer");

    private SampleModels() {
    }

    public static List<String> names() {
        return NAMES;
    }

    public static boolean exists(String name) {
        return NAMES.contains(name);
    }

    public static ModelDef load(String name) {
        if (!exists(name))
            throw new IllegalArgumentException("unknown sample model '" + name + "' (known: " + String.join(", ", NAMES) + ")");
        try (InputStream in = SampleModels.class.getResourceAsStream("/memplan/models/" + name + ".json")) {
            if (in == null) throw new IllegalStateException("sample model '" + name + "' is not bundled in this build");
            return ModelJson.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "sample:" + name);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read sample model '" + name + "': " + e.getMessage(), e);
        }
    }
}

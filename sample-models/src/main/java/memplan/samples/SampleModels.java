package memplan.samples;

import memplan.graph.Graph;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Input;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The bundled sample models. {@link #load} reads the checked-in JSON (resources memplan/models/NAME.json);
 * {@link #build} runs the Java builder that generated it (a test keeps the two identical).
 */
public final class SampleModels {
    /** Resource folder of the checked-in model files. */
    public static final String RESOURCE_DIR = "memplan/models/";

    private static final Map<String, Supplier<ModelDef>> BUILDERS = new LinkedHashMap<>();

    static {
        BUILDERS.put("mlp", MlpBuilder::mlp);
        BUILDERS.put("lenet5", LeNetBuilder::lenet5);
        BUILDERS.put("alexnet", AlexNetBuilder::alexnet);
        BUILDERS.put("vgg16", VggBuilder::vgg16);
        BUILDERS.put("resnet18", ResNetBuilder::resnet18);
        BUILDERS.put("resnet50", ResNetBuilder::resnet50);
        BUILDERS.put("unet-small", UNetBuilder::unetSmall);
        BUILDERS.put("lstm-lm", LstmBuilder::lstmLm);
        BUILDERS.put("bert-base", BertBuilder::bertBase);
        BUILDERS.put("gpt2-small", Gpt2Builder::gpt2Small);
        for (var c : List.of(LlamaBuilder.SMOLLM_135M, LlamaBuilder.LLAMA32_1B, LlamaBuilder.LLAMA2_7B,
                LlamaBuilder.MISTRAL_7B, LlamaBuilder.LLAMA3_8B, LlamaBuilder.SMALL))
            BUILDERS.put(c.name(), () -> LlamaBuilder.build(c));
        BUILDERS.put("gpt-1.3b", Gpt2Builder::gpt13b);
        BUILDERS.put("tiny-mlp", TinyBuilder::tinyMlp);
        BUILDERS.put("tiny-cnn", TinyBuilder::tinyCnn);
        BUILDERS.put("tiny-lstm", LstmBuilder::tinyLstm);
        BUILDERS.put("tiny-transformer", TinyTransformerBuilder::tinyTransformer);
        BUILDERS.put("tiny-llama", () -> LlamaBuilder.build(LlamaBuilder.TINY));
    }

    private SampleModels() {
    }

    /** The sample names, in a fixed order (small classics, large models, then the tiny test models). */
    public static List<String> names() {
        return List.copyOf(BUILDERS.keySet());
    }

    /** Whether a sample of that name exists. */
    public static boolean exists(String name) {
        return name != null && BUILDERS.containsKey(name);
    }

    /** Reads the checked-in model file of a sample; its source is "sample:NAME". */
    public static ModelDef load(String name) {
        check(name);
        String path = RESOURCE_DIR + name + ".json";
        try (InputStream in = SampleModels.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("sample model '" + name + "' has no resource " + path);
            return ModelJson.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "sample:" + name);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    /** Runs the sample's Java builder (what {@link GenerateSamples} writes out). */
    public static ModelDef build(String name) {
        check(name);
        return BUILDERS.get(name).get();
    }

    /** One line: name, description, parameter count, inputs and default dimensions. */
    public static String describe(String name) {
        ModelDef m = load(name);
        long params = Graph.instantiate(m, 1, DType.FP32).parameterCount();
        List<String> inputs = new ArrayList<>();
        for (Layer l : m.layers())
            if (l.op() instanceof Input in)
                inputs.add(l.name() + " [" + String.join(",", in.dims()) + "]" + (in.dtype() == null ? ""
                        : " " + in.dtype().jsonName()));
        StringBuilder b = new StringBuilder(name).append(": ").append(m.description())
                .append(String.format(" | %,d parameters | inputs: %s", params, String.join(", ", inputs)));
        if (!m.dims().isEmpty()) {
            List<String> dims = new ArrayList<>();
            m.dims().forEach((k, v) -> dims.add(k + "=" + v));
            b.append(" | dims: ").append(String.join(", ", dims));
        }
        return b.toString();
    }

    private static void check(String name) {
        if (!exists(name))
            throw new IllegalArgumentException("unknown sample model '" + name + "'; known: "
                    + String.join(", ", BUILDERS.keySet()));
    }
}

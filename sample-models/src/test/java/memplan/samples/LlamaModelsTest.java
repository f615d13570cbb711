package memplan.samples;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Attention;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The Llama-style samples: Hugging Face's layer names, grouped-query shapes, tied heads, eager vs fused memory. */
class LlamaModelsTest {
    static final String[] PER_LAYER = {"input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
            "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};

    @ParameterizedTest
    @ValueSource(strings = {"llama2-7b", "llama3-8b", "mistral-7b", "llama3.2-1b", "smollm-135m", "small-llama",
            "tiny-llama"})
    void layersAreNamedAsHuggingFacesLlama(String name) {
        ModelDef m = SampleModels.load(name);
        List<String> names = new ArrayList<>();
        for (Layer l : m.layers()) names.add(l.name());
        assertTrue(names.containsAll(List.of("model.embed_tokens", "model.norm", "lm_head")), names.toString());
        int layers = 0;
        while (names.contains("model.layers." + layers + ".input_layernorm")) layers++;
        assertTrue(layers >= 2, name);
        for (int i = 0; i < layers; i++)
            for (String p : PER_LAYER) assertTrue(names.contains("model.layers." + i + "." + p), i + "." + p);
    }

    @Test
    void llama3UsesGroupedQueryAttention() {
        Graph g = Graph.instantiate(SampleModels.load("llama3-8b"), 1, DType.FP32, Map.of("T", 64));
        Node k = g.node("model.layers.0.self_attn.k_proj"), q = g.node("model.layers.0.self_attn.q_proj");
        assertEquals(List.of(1024, 4096), List.of(g.value(k.params()[0]).shape().dims()[0],
                g.value(k.params()[0]).shape().dims()[1]));
        assertEquals(4096, g.value(q.params()[0]).shape().dims()[0]);
        Attention a = (Attention) g.node("model.layers.31.self_attn.attention").op();
        assertEquals(32, a.heads());
        assertEquals(8, a.kvHeads());
        assertTrue(a.causal());
        assertEquals(Attention.Form.FUSED, a.form());
    }

    @Test
    void tiedHeadsShareTheEmbedding() {
        Graph g = Graph.instantiate(SampleModels.load("llama3.2-1b"), 1, DType.FP32, Map.of("T", 8));
        assertArrayEquals(g.node("model.embed_tokens").params(), g.node("lm_head").params());
        Graph u = Graph.instantiate(SampleModels.load("llama3-8b"), 1, DType.FP32, Map.of("T", 8));
        assertFalse(u.node("model.embed_tokens").params()[0] == u.node("lm_head").params()[0]);
    }

    /**
     * What the two attention forms keep, per layer of small-llama at batch 2: eager keeps q, the probabilities and k
     * and v repeated to all 8 heads; fused keeps q, k and v (2 heads), the output (kept by o_proj anyway) and lse.
     */
    @Test
    void eagerAttentionKeepsTheProbabilitiesAndTheRepeatedKeys() {
        ModelDef eager = SampleModels.load("small-llama");
        ModelDef fused = withForm(eager, Attention.Form.FUSED);
        long e = saved(eager), f = saved(fused);
        int n = 2, t = 128, heads = 8, dh = 32, kv = 2, layers = 4;
        long probs = 4L * n * heads * t * t, rep = 4L * n * t * heads * dh, kvBytes = 4L * n * t * kv * dh;
        long lse = 4L * n * heads * t;
        assertEquals(layers * (probs + 2 * rep - 2 * kvBytes - lse), e - f);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "small-llama"})
    void theFidelityDataProfilesACopyOfTheSample(String name) throws IOException {
        Path copy = Path.of("..", "engine", "src", "test", "resources", "fidelity", "models", name + ".json");
        assertTrue(Files.exists(copy), copy.toAbsolutePath() + " (run tools/pytorch/fidelity.py --models " + name + ")");
        try (InputStream in = SampleModels.class.getClassLoader().getResourceAsStream(SampleModels.RESOURCE_DIR + name
                + ".json")) {
            assertNotNull(in);
            assertEquals(new String(in.readAllBytes(), StandardCharsets.UTF_8), Files.readString(copy),
                    copy + " is not the sample's JSON: rerun tools/pytorch/fidelity.py --models " + name);
        }
    }

    private static long saved(ModelDef m) {
        return MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(m, 2, DType.FP32), Optimizer.SGD)).savedBytes();
    }

    private static ModelDef withForm(ModelDef m, Attention.Form form) {
        ModelDef.Builder b = ModelDef.builder(m.name()).description(m.description());
        m.dims().forEach(b::dim);
        for (Layer l : m.layers())
            b.add(l.op() instanceof Attention a ? new Layer(l.name(), a.withForm(form), l.inputs(), l.tie()) : l);
        return b.build();
    }
}

package memplan.samples;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.CrossEntropy;
import memplan.ops.MseLoss;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class SampleModelsTest {
    static final List<String> NAMES = List.of("mlp", "lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "unet-small",
            "lstm-lm", "bert-base", "gpt2-small", "smollm-135m", "llama3.2-1b", "llama2-7b", "mistral-7b", "llama3-8b",
            "small-llama", "gpt-1.3b", "tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama");

    static Stream<String> names() {
        return SampleModels.names().stream();
    }

    @Test
    void namesAreTheBundledSamplesInOrder() {
        assertEquals(NAMES, SampleModels.names());
        for (String n : NAMES) assertTrue(SampleModels.exists(n), n);
        assertFalse(SampleModels.exists("resnet101"));
        assertFalse(SampleModels.exists(null));
    }

    @ParameterizedTest
    @MethodSource("names")
    void instantiatesAtBatch2AndDerivesATrainingSchedule(String name) {
        ModelDef m = SampleModels.load(name);
        assertEquals(name, m.name());
        assertEquals("sample:" + name, m.source());
        Graph g = Graph.instantiate(m, 2, DType.FP32);
        assertEquals(2, g.batch());
        Schedule s = TrainingGraph.derive(g, Optimizer.ADAM);
        assertTrue(s.stepCount() > 0);
        assertTrue(s.totalFlops() > 0);
        MemoryProfile p = MemoryProfile.of(s);
        assertTrue(p.peakBytes() >= 4 * g.parameterCount(), name + ": the peak must at least hold the fp32 weights");
    }

    @ParameterizedTest
    @MethodSource("names")
    void lastLayerIsALossWithoutParameters(String name) {
        ModelDef m = SampleModels.load(name);
        Layer last = m.layers().get(m.layers().size() - 1);
        assertTrue(last.op() instanceof CrossEntropy || last.op() instanceof MseLoss, name + " ends with " + last.op().type());
        Graph g = Graph.instantiate(m, 2, DType.FP32);
        Node loss = g.node(last.name());
        assertEquals(0, loss.params().length, name + ": the loss must add no parameters");
        assertEquals(0, g.value(loss.outputs()[0]).shape().rank(), name + ": the loss is a scalar");
    }

    /** Published trainable-parameter counts (BatchNorm running statistics are buffers and not counted). */
    @ParameterizedTest(name = "{0} has {1} parameters")
    @CsvSource({
            "lenet5, 61706",
            "alexnet, 61100840",
            "vgg16, 138357544",
            "resnet18, 11689512",
            "resnet50, 25557032",
            "gpt2-small, 124439808",
            "bert-base, 109482240",
            "llama2-7b, 6738415616",
            "llama3-8b, 8030261248",
            "mistral-7b, 7241732096",
            "llama3.2-1b, 1235814400",
            "smollm-135m, 134515008",
    })
    void publishedParameterCounts(String name, long expected) {
        assertEquals(expected, params(SampleModels.load(name)));
        assertEquals(expected, params(SampleModels.build(name)));
    }

    /** Counts of the models without a published reference, worked out by hand in docs/sample-models.md. */
    @ParameterizedTest(name = "{0} has {1} parameters")
    @CsvSource({
            "mlp, 535818",
            "unet-small, 472292",
            "lstm-lm, 9266960",
            "tiny-mlp, 4490",
            "tiny-cnn, 2082",
            "tiny-lstm, 4098",
            "tiny-transformer, 28032",
            "tiny-llama, 22688",
            "small-llama, 3819776",
            "gpt-1.3b, 1313626112",
    })
    void ownParameterCounts(String name, long expected) {
        assertEquals(expected, params(SampleModels.load(name)));
    }

    static long params(ModelDef m) {
        return Graph.instantiate(m, 1, DType.FP32).parameterCount();
    }

    @ParameterizedTest
    @MethodSource("names")
    void checkedInJsonIsWhatTheBuilderWrites(String name) throws IOException {
        String expected = ModelJson.write(SampleModels.build(name));
        assertEquals(expected, resource(name), name + ".json is out of date: run GenerateSamples "
                + "sample-models/src/main/resources/memplan/models");
    }

    @Test
    void checkedInFilesAreExactlyTheSamples() throws IOException {
        Path dir = Path.of("src/main/resources/memplan/models");
        Set<String> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(NAMES.stream().map(n -> n + ".json").collect(Collectors.toCollection(TreeSet::new)), files);
    }

    @Test
    void generateSamplesWritesTheCheckedInFiles(@TempDir Path dir) throws IOException {
        GenerateSamples.main(new String[]{dir.toString()});
        for (String n : NAMES) assertEquals(resource(n), Files.readString(dir.resolve(n + ".json")), n);
    }

    @Test
    void parsedModelWritesBackToTheSameText() throws IOException {
        for (String n : NAMES) assertEquals(resource(n), ModelJson.write(SampleModels.load(n)), n);
    }

    @Test
    void unknownNameListsTheKnownNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SampleModels.load("resnet101"));
        assertTrue(e.getMessage().contains("resnet101"), e.getMessage());
        for (String n : NAMES) assertTrue(e.getMessage().contains(n), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SampleModels.build("nope"));
        for (String n : NAMES) assertTrue(e.getMessage().contains(n), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SampleModels.describe("nope"));
    }

    @ParameterizedTest
    @MethodSource("names")
    void describeIsOneLineWithTheParameterCount(String name) {
        String d = SampleModels.describe(name);
        assertFalse(d.contains("\n"), d);
        assertTrue(d.startsWith(name + ": "), d);
        assertTrue(d.contains(String.format("%,d parameters", params(SampleModels.load(name)))), d);
    }

    @Test
    void bertDescriptionSaysItsLossIsMse() {
        assertTrue(SampleModels.describe("bert-base").contains("MseLoss"));
    }

    @Test
    void sequenceModelsTakeOtherSequenceLengths() {
        Graph g = Graph.instantiate(SampleModels.load("gpt2-small"), 1, DType.FP32, Map.of("T", 128));
        assertEquals(124439808L, g.parameterCount());
        assertEquals(128, g.value(g.node("loss").inputs()[1]).shape().dim(1));
        Graph b = Graph.instantiate(SampleModels.load("bert-base"), 2, DType.FP32, Map.of("T", 512));
        assertEquals(109482240L, b.parameterCount());
    }

    @Test
    void defaultDims() {
        assertEquals(Map.of("T", 1024), SampleModels.load("gpt2-small").dims());
        assertEquals(Map.of("T", 128), SampleModels.load("bert-base").dims());
        assertEquals(Map.of("T", 16), SampleModels.load("tiny-transformer").dims());
        assertEquals(Map.of(), SampleModels.load("lstm-lm").dims());
    }

    @Test
    void lstmStepsShareOneCellsWeights() {
        Graph g = Graph.instantiate(SampleModels.load("lstm-lm"), 1, DType.FP32);
        Node first = g.node("lstm.0"), last = g.node("lstm.63");
        assertArrayEquals(first.params(), last.params());
        assertNull(g.node("lstm.64"));
    }

    /** Ties keep their written order, so the JSON text does not change from one JVM run to the next. */
    @Test
    void tiesKeepTheirOrder() {
        Layer cell = SampleModels.load("lstm-lm").layer("lstm.1");
        assertEquals(List.of("weight_ih", "weight_hh", "bias_ih", "bias_hh"), List.copyOf(cell.tie().keySet()));
    }

    @Test
    void gpt2LmHeadIsTiedToTheTokenEmbedding() {
        Graph g = Graph.instantiate(SampleModels.load("gpt2-small"), 1, DType.FP32);
        assertEquals(g.node("wte").params()[0], g.node("lm_head").params()[0]);
    }

    static String resource(String name) throws IOException {
        try (InputStream in = SampleModels.class.getClassLoader().getResourceAsStream(SampleModels.RESOURCE_DIR + name + ".json")) {
            assertNotNull(in, name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}

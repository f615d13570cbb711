package memplan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.framework.FrameworkProfile;
import memplan.framework.OptimizerForm;
import memplan.graph.Graph;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.profile.MemoryProfile;
import memplan.samples.SampleModels;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** `memplan profile` end to end through picocli, as the jar runs it (without System.exit). */
class ProfileCommandTest {
    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = MemPlanCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    static long expectedPeak(String sample, int batch, Optimizer o) {
        return MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(SampleModels.load(sample), batch, DType.FP32), o,
                FrameworkProfile.PYTORCH_CPU)).peakBytes();
    }

    static void assertOneErrorLine(Result r, String... fragments) {
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), "one line, got:\n" + r.err());
        assertTrue(lines.get(0).startsWith("error: "), lines.get(0));
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), "no stack trace or exception name: " + r.err());
        for (String f : fragments) assertTrue(lines.get(0).contains(f), "'" + lines.get(0) + "' should contain '" + f + "'");
    }

    @Test
    void profileOfASamplePrintsTheExpectedFields() {
        Result r = run("profile", "tiny-cnn", "--batch", "4", "--optimizer", "sgd");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals("tiny-cnn  batch 4  fp32  sgd", lines.get(0));
        assertTrue(lines.get(1).startsWith("parameters      "), lines.get(1));
        assertTrue(lines.get(2).matches("steps +\\d+ \\(\\d+ tensors\\)"), lines.get(2));
        assertTrue(lines.get(3).matches("peak +\\S+ \\S+ at step \\d+ \\(.+, (forward|backward|optimizer)\\)"), lines.get(3));
        assertEquals("framework       pytorch-cpu (optimizer single-tensor, zero_grad none)", lines.get(4));
        assertTrue(lines.get(5).matches("phase peaks     forward .+, backward .+, optimizer .+"), lines.get(5));
        assertTrue(lines.get(6).startsWith("saved for backward "), lines.get(6));
        assertEquals("at the peak:", lines.get(7));
        for (String role : List.of("input", "weights", "activations", "gradients", "optimizer state", "workspace"))
            assertTrue(r.out().contains("\n  " + role + " "), role);
        assertTrue(r.out().contains("largest tensors live at the peak:"));
        assertTrue(r.out().contains("\nlower bound     "));
        assertTrue(lines.get(lines.size() - 1).matches("profiled in [0-9.]+ ms"), lines.get(lines.size() - 1));
    }

    @Test
    void jsonPeakIsMemoryProfilesPeak() throws IOException {
        Result r = run("profile", "tiny-transformer", "--batch", "3", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(expectedPeak("tiny-transformer", 3, Optimizer.ADAM), j.get("peakBytes").asLong());
        assertEquals("tiny-transformer", j.get("model").asText());
        assertEquals(3, j.get("batch").asInt());
        assertEquals("fp32", j.get("dtype").asText());
        assertEquals("adam", j.get("optimizer").asText());
        long sum = 0;
        for (JsonNode v : j.get("peakByRole")) sum += v.asLong();
        assertEquals(j.get("peakBytes").asLong(), sum, "roles add up to the peak");
        for (String f : List.of("parameters", "steps", "tensors", "peakStep", "peakStepLabel", "peakPhase", "largestAtPeak",
                "lowerBoundBytes", "lowerBoundStep", "profileMillis"))
            assertTrue(j.has(f), f);
        assertTrue(j.get("lowerBoundBytes").asLong() <= j.get("peakBytes").asLong());
    }

    @Test
    void profileOfAFile(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("mlp.json");
        Files.writeString(f, ModelJson.write(SampleModels.load("tiny-mlp")));
        Result r = run("profile", f.toString(), "--batch", "8", "--json", "--optimizer", "sgd");
        assertEquals(0, r.code(), r.err());
        assertEquals(expectedPeak("tiny-mlp", 8, Optimizer.SGD), new ObjectMapper().readTree(r.out()).get("peakBytes").asLong());
        Result text = run("profile", f.toString(), "--batch", "8");
        assertEquals(0, text.code());
        assertTrue(text.out().startsWith("tiny-mlp  batch 8  fp32  adam\n"), text.out());
    }

    @Test
    void frameworkOptionsChooseTheProfile() throws IOException {
        Result r = run("profile", "tiny-cnn", "--batch", "2", "--optimizer", "adam", "--framework", "generic", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        var generic = MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(SampleModels.load("tiny-cnn"), 2, DType.FP32),
                Optimizer.ADAM));
        assertEquals(generic.peakBytes(), j.get("peakBytes").asLong());
        assertEquals("generic", j.get("framework").asText());
        assertEquals(generic.phasePeak(Phase.OPTIMIZER), j.get("phasePeakBytes").get("optimizer").asLong());
        assertEquals(generic.savedBytes(), j.get("savedBytes").asLong());
        Result f = run("profile", "tiny-cnn", "--batch", "2", "--optimizer", "adam", "--optimizer-form", "foreach", "--json");
        var foreach = MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(SampleModels.load("tiny-cnn"), 2, DType.FP32),
                Optimizer.ADAM, FrameworkProfile.PYTORCH_CPU.withOptimizerForm(OptimizerForm.FOREACH)));
        assertEquals(foreach.peakBytes(), new ObjectMapper().readTree(f.out()).get("peakBytes").asLong());
        assertOneErrorLine(run("profile", "tiny-cnn", "--framework", "jax"), "unknown framework 'jax'");
        assertOneErrorLine(run("profile", "tiny-cnn", "--zero-grad", "maybe"), "unknown zero_grad mode 'maybe'");
    }

    @Test
    void dimsAndDtype() throws IOException {
        Result r = run("profile", "tiny-transformer", "--batch", "2", "--dim", "T=4", "--dtype", "fp16", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("fp16", j.get("dtype").asText());
        long expected = MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(SampleModels.load("tiny-transformer"), 2,
                DType.FP16, Map.of("T", 4)), Optimizer.ADAM, FrameworkProfile.PYTORCH_CPU)).peakBytes();
        assertEquals(expected, j.get("peakBytes").asLong());
    }

    @Test
    void badFile(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("broken.json");
        Files.writeString(f, "{\"layers\": [\n  {\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 4]},,\n]}");
        assertOneErrorLine(run("profile", f.toString()), "broken.json", "line 2, column", "invalid JSON");
        Files.writeString(f, "{\"layers\": [{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 4]}, {\"name\": \"fc\", \"op\": \"Lineer\", \"inputs\": [\"x\"]}]}");
        assertOneErrorLine(run("profile", f.toString()), "broken.json: at layers[1] (fc).op: unknown op 'Lineer'");
        Files.writeString(f, "{\"layers\": [{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 4]}, {\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 2}]}");
        assertOneErrorLine(run("profile", f.toString()), "the model has no loss layer");
    }

    @Test
    void badBatch() {
        assertOneErrorLine(run("profile", "tiny-mlp", "--batch", "0"), "--batch must be a positive integer, got 0");
        assertOneErrorLine(run("profile", "tiny-mlp", "--batch", "-3"), "--batch must be a positive integer");
        assertOneErrorLine(run("profile", "tiny-mlp", "--batch", "abc"), "'--batch'", "'abc' is not an int", "memplan profile --help");
    }

    @Test
    void badOptions() {
        assertOneErrorLine(run("profile", "tiny-mlp", "--optimizer", "rmsprop"), "unknown optimizer 'rmsprop' (use sgd, adam or adam8bit)");
        assertOneErrorLine(run("profile", "tiny-mlp", "--dtype", "int64"), "--dtype must be fp32, fp16 or bf16, got 'int64'");
        assertOneErrorLine(run("profile", "tiny-mlp", "--frobnicate"), "frobnicate");
        assertOneErrorLine(run("profile"), "MODEL");
    }

    @Test
    void badDims() {
        assertOneErrorLine(run("profile", "tiny-transformer", "--dim", "Q=4"), "--dim Q: tiny-transformer has no dimension symbol 'Q' (its symbols: T)");
        assertOneErrorLine(run("profile", "tiny-mlp", "--dim", "T=4"), "tiny-mlp has no dimension symbol 'T' (it has none besides N)");
        assertOneErrorLine(run("profile", "tiny-transformer", "--dim", "N=4"), "--dim N: the batch size is set with --batch");
        assertOneErrorLine(run("profile", "tiny-transformer", "--dim", "T=0"), "--dim T must be positive");
        assertOneErrorLine(run("profile", "tiny-transformer", "--dim", "T"), "--dim");
    }

    @Test
    void modelsListsTheSamplesAndHelpWorks() {
        Result r = run("models");
        assertEquals(0, r.code());
        assertEquals(SampleModels.names(), r.out().lines().toList());
        Result help = run("profile", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().startsWith("Usage: memplan profile"), help.out());
    }

    @Test
    void unknownModel() {
        assertOneErrorLine(run("profile", "resnet51"), "'resnet51' is neither a file nor a bundled model", "resnet50");
    }

    /** --attention rewrites every Attention layer's form: eager keeps the T x T probabilities, fused does not. */
    @Test
    void attentionImplementationChangesWhatLlamaKeeps() throws IOException {
        long model = json(run("profile", "small-llama", "--batch", "2", "--json")).get("savedBytes").asLong();
        long eager = json(run("profile", "small-llama", "--batch", "2", "--attention", "eager", "--json"))
                .get("savedBytes").asLong();
        long fused = json(run("profile", "small-llama", "--batch", "2", "--attention", "fused", "--json"))
                .get("savedBytes").asLong();
        assertEquals(model, eager, "small-llama is eager already");
        // per layer: probs + k, v repeated to 8 heads, less k, v (2 heads) and the fp32 log-sum-exp
        long perLayer = 4L * 2 * 8 * 128 * 128 + 2 * 4L * 2 * 128 * 256 - 2 * 4L * 2 * 128 * 64 - 4L * 2 * 8 * 128;
        assertEquals(4 * perLayer, eager - fused);
        assertOneErrorLine(run("profile", "small-llama", "--attention", "flash"), "--attention", "flash",
                "model, eager or fused");
    }

    @Test
    void llama3At4096TokensProfilesWithItsPublishedParameterCount() throws IOException {
        JsonNode o = json(run("profile", "llama3-8b", "--batch", "1", "--dim", "T=4096", "--json"));
        assertEquals(8_030_261_248L, o.get("parameters").asLong());
        assertTrue(o.get("peakBytes").asLong() > 4 * 8_030_261_248L * 3, "weights, gradients and Adam state at least");
    }

    private static JsonNode json(Result r) throws IOException {
        assertEquals(0, r.code(), r.err());
        return new ObjectMapper().readTree(r.out());
    }
}

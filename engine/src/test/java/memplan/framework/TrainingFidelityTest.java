package memplan.framework;

import com.fasterxml.jackson.databind.JsonNode;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.profile.MemoryProfile;
import memplan.train.Amp;
import memplan.train.FrozenParams;
import memplan.train.LoraConfig;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import memplan.train.TrainingSetup;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Training setups (LoRA, frozen weights, gradient accumulation, autocast) against PyTorch's measured memory, from
 * the reference data tools/pytorch/training_check.py measured (fidelity/pytorch-cpu-training.json; regenerate it,
 * never edit it). Each row names the MemPlan flags that model PyTorch's setup; the same tolerances as
 * {@link PyTorchFidelityTest}.
 */
class TrainingFidelityTest {
    static final double PEAK = 0.02, PHASE = 0.03, SAVED = 0.01;

    @TempDir
    static Path dir;

    static JsonNode data() throws IOException {
        return FidelityData.read("pytorch-cpu-training.json");
    }

    @Test
    void theDataComesFromARunAndCoversEverySetup() throws IOException {
        JsonNode d = data();
        assertTrue(d.get("torch").asText().startsWith("1.13"), "PyTorch version: " + d.get("torch"));
        List<String> flags = new ArrayList<>();
        for (JsonNode r : d.get("rows")) {
            assertTrue(r.get("command").asText().contains("tools/pytorch/training_check.py"), "made by the harness");
            if (r.get("checked").asBoolean()) for (JsonNode f : r.get("flags")) flags.add(f.asText());
        }
        for (String f : List.of("--lora", "--freeze", "--grad-accum"))
            assertTrue(flags.contains(f), "no checked row with " + f);
    }

    @TestFactory
    List<DynamicTest> everyCheckedRowIsWithinItsTolerance() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode r : data().get("rows")) {
            if (!r.get("checked").asBoolean()) continue;
            String name = r.get("case").asText();
            tests.add(DynamicTest.dynamicTest(name, () -> check(r, name)));
        }
        return tests;
    }

    /** The rows can fail: without the setup (full training, one micro-batch, fp32) the LoRA rows are far off. */
    @Test
    void ignoringTheSetupLeavesTheTolerance() throws IOException {
        for (JsonNode r : data().get("rows")) {
            if (!r.get("checked").asBoolean() || !r.get("case").asText().endsWith("-lora-adam")) continue;
            ModelDef m = model(r);
            Schedule s = TrainingGraph.derive(Graph.instantiate(m, r.get("batch").asInt(), DType.FP32),
                    Optimizer.ADAM, FrameworkProfile.PYTORCH_CPU);
            double ratio = (double) MemoryProfile.of(s).peakBytes() / r.get("pytorch").get("peakBytes").asLong();
            assertTrue(ratio > 1 + PEAK, "full training / PyTorch's LoRA = " + ratio);
            return;
        }
        throw new AssertionError("no checked LoRA row");
    }

    private static ModelDef model(JsonNode r) throws IOException {
        if (r.hasNonNull("modelJson")) return FidelityData.sampleModel(r.get("modelJson").asText(),
                r.get("sample").asText());
        return FidelityData.onnxModel(r.get("onnx").asText(), r.get("externalDataBytes").asLong(), dir);
    }

    /**
     * The Llama-style check (issue 24): llama.py's model at both sizes (MemPlan: the sample of that name), trained
     * in full and with LoRA on q_proj, v_proj and on every projection, SGD and Adam, with and without
     * accumulation, all checked.
     */
    @Test
    void theLlamaSetupsAreCheckedAtBothSizes() throws IOException {
        Set<String> seen = new TreeSet<>();
        for (JsonNode r : data().get("rows")) {
            if (!r.hasNonNull("sample") || !r.get("checked").asBoolean()) continue;
            String flags = r.get("flags").toString();
            String kind = flags.contains("--lora") ? (flags.contains("down_proj") ? "lora-all" : "lora-qv")
                    : flags.contains("--freeze") ? "frozen" : "full";
            seen.add(r.get("sample").asText() + " " + kind + " " + r.get("optimizer").asText()
                    + (flags.contains("--grad-accum") ? " accum" : ""));
        }
        for (String size : List.of("tiny-llama", "small-llama"))
            for (String want : List.of("full adam accum", "full sgd accum", "lora-qv adam", "lora-qv sgd",
                    "lora-qv adam accum", "lora-all adam", "lora-all sgd accum", "frozen adam"))
                assertTrue(seen.contains(size + " " + want), "no checked row " + size + " " + want + " in " + seen);
    }

    /** The schedule the row's MemPlan flags describe (as `memplan profile` builds it from them). */
    static Schedule schedule(JsonNode r) throws IOException {
        ModelDef m = model(r);
        TrainingSetup setup = TrainingSetup.DEFAULT;
        FrozenParams frozen = FrozenParams.NONE;
        JsonNode f = r.get("flags");
        for (int i = 0; i < f.size(); i += 2) {
            String flag = f.get(i).asText(), value = f.get(i + 1).asText();
            switch (flag) {
                case "--lora" -> {
                    m = LoraConfig.parse(value).apply(m);
                    frozen = frozen.and(LoraConfig.FREEZES);
                }
                case "--freeze" -> frozen = frozen.and(FrozenParams.of(Arrays.asList(value.split(","))));
                case "--grad-accum" -> setup = setup.withMicroBatches(Integer.parseInt(value));
                case "--amp" -> setup = setup.withAmp(Amp.parse(value));
                default -> throw new AssertionError("unknown flag " + flag);
            }
        }
        FrameworkProfile fw = FrameworkProfile.PYTORCH_CPU
                .withOptimizerForm(OptimizerForm.parse(r.get("optimizerForm").asText()));
        return TrainingGraph.derive(Graph.instantiate(m, r.get("batch").asInt(), DType.FP32),
                Optimizer.parse(r.get("memplanOptimizer").asText()), fw, setup.withFrozen(frozen));
    }

    private static void check(JsonNode r, String name) throws IOException {
        Schedule s = schedule(r);
        assertEquals(r.get("trainableParameters").asLong(), s.trainableParameters(), name + ": trainable parameters");
        FidelityData.checkProfile(name, MemoryProfile.of(s), r.get("pytorch"), PEAK, PHASE, SAVED);
    }
}

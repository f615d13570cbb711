package memplan.planner;

import memplan.framework.FrameworkProfile;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.Attention;
import memplan.ops.CrossEntropy;
import memplan.ops.Embedding;
import memplan.ops.GatedActivation;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.RMSNorm;
import memplan.ops.RotaryEmbedding;
import memplan.profile.MemoryProfile;
import memplan.sim.DeviceModel;
import memplan.sim.Simulator;
import memplan.train.FrozenParams;
import memplan.train.LoraConfig;
import memplan.train.Optimizer;
import memplan.train.TrainingSetup;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The largest batch or sequence length that fits one device, for a training setup, with and without a planner. */
class DeviceFitTest {
    private static final DeviceModel H100 = DeviceModel.preset("h100");

    /** A two-layer Llama-style decoder (as sample-models' LlamaBuilder builds them), sequence symbol T. */
    static ModelDef llama() {
        ModelDef.Builder b = ModelDef.builder("llama-test").dim("T", 32);
        String tokens = b.add("tokens", new Input(List.of("N", "T"), DType.INT64));
        String target = b.add("target", new Input(List.of("N", "T"), DType.INT64));
        String x = b.add("model.embed_tokens", new Embedding(256, 64), tokens);
        for (int i = 0; i < 2; i++) {
            String p = "model.layers." + i + ".";
            String h = b.add(p + "input_layernorm", new RMSNorm(1e-6), x);
            String q = b.add(p + "self_attn.q_proj", new Linear(64, false), h);
            String k = b.add(p + "self_attn.k_proj", new Linear(32, false), h);
            String v = b.add(p + "self_attn.v_proj", new Linear(32, false), h);
            q = b.add(p + "self_attn.rotary_q", new RotaryEmbedding(16, 10000), q);
            k = b.add(p + "self_attn.rotary_k", new RotaryEmbedding(16, 10000), k);
            String a = b.add(p + "self_attn.attention", new Attention(4, 2, true, Attention.Form.EAGER), q, k, v);
            a = b.add(p + "self_attn.o_proj", new Linear(64, false), a);
            String r = b.add(p + "residual_attn", new Add(), x, a);
            h = b.add(p + "post_attention_layernorm", new RMSNorm(1e-6), r);
            String g = b.add(p + "mlp.gate_proj", new Linear(128, false), h);
            String u = b.add(p + "mlp.up_proj", new Linear(128, false), h);
            String m = b.add(p + "mlp.act", new GatedActivation(GatedActivation.Gate.SILU), g, u);
            m = b.add(p + "mlp.down_proj", new Linear(64, false), m);
            x = b.add(p + "residual_mlp", new Add(), r, m);
        }
        x = b.add("model.norm", new RMSNorm(1e-6), x);
        x = b.add("lm_head", new Linear(256, false), x);
        b.add("loss", new CrossEntropy(-1), x, target);
        return b.build();
    }

    static DeviceFit sequence(ModelDef m, int batch, TrainingSetup setup) {
        return new DeviceFit(m, batch, DType.FP32, Map.of(), "T", Optimizer.ADAM, FrameworkProfile.PYTORCH_CPU,
                setup);
    }

    static long peak(DeviceFit f, int value) {
        return MemoryProfile.of(f.scheduleAt(value)).peakBytes();
    }

    /** With the budget set to the peak at T = 100, the answer is exactly 100: it fits and 101 does not. */
    @Test
    void theLargestSequenceFitsAndOneMoreDoesNot() {
        DeviceFit f = sequence(llama(), 2, TrainingSetup.DEFAULT);
        long budget = peak(f, 100);
        DeviceFit.Answer a = f.largest(Planners.named("baseline"), budget, H100, 1 << 16);
        assertEquals(100, a.largest());
        assertTrue(a.peakBytes() <= budget);
        assertTrue(peak(f, 101) > budget, "the peak grows with T");
    }

    @Test
    void theLargestBatchAtASequenceLength() {
        DeviceFit f = new DeviceFit(llama(), 1, DType.FP32, Map.of("T", 64), ModelDef.BATCH, Optimizer.ADAM,
                FrameworkProfile.PYTORCH_CPU, TrainingSetup.DEFAULT);
        assertTrue(f.searchesBatch());
        long budget = peak(f, 7);
        DeviceFit.Answer a = f.largest(Planners.named("baseline"), budget, H100, 1 << 12);
        assertEquals(7, a.largest());
        var tokens = a.result().plan().schedule().graph().values().stream()
                .filter(v -> v.name().equals("tokens")).findFirst().orElseThrow();
        assertEquals(List.of(7, 64), List.of(tokens.shape().dim(0), tokens.shape().dim(1)), "batch 7, T stays 64");
    }

    /**
     * LoRA keeps no gradients or Adam state for the base and fewer activations, a frozen prefix keeps nothing for
     * backward in it: both fit longer sequences than full training at the same budget.
     */
    @Test
    void loraFitsALongerSequenceThanFullTrainingAtTheSameBudget() {
        ModelDef m = llama();
        DeviceFit full = sequence(m, 1, TrainingSetup.DEFAULT);
        long budget = peak(full, 256);
        LoraConfig lora = LoraConfig.parse("r=8,targets=q_proj,v_proj");
        DeviceFit adapted = sequence(lora.apply(m), 1, TrainingSetup.DEFAULT.withFrozen(LoraConfig.FREEZES));
        int fullT = full.largest(Planners.named("baseline"), budget, H100, 1 << 16).largest();
        int loraT = adapted.largest(Planners.named("baseline"), budget, H100, 1 << 16).largest();
        assertEquals(256, fullT);
        assertTrue(loraT > fullT, "LoRA " + loraT + " vs full " + fullT);
        FrozenParams frozen = FrozenParams.of(List.of("model.embed_tokens", "model.layers.0"));
        int frozenT = sequence(m, 1, TrainingSetup.DEFAULT.withFrozen(frozen))
                .largest(Planners.named("baseline"), budget, H100, 1 << 16).largest();
        // a frozen first layer keeps nothing for backward at all (no gradient reaches it)
        assertTrue(frozenT > fullT, "frozen prefix " + frozenT);
    }

    /** Recomputation at the same budget fits more, and its plan, simulated, stays within the budget. */
    @Test
    void aPlannerFitsMoreThanTheBaselineWithinTheBudget() {
        DeviceFit f = sequence(llama(), 2, TrainingSetup.DEFAULT);
        long budget = peak(f, 128);
        List<DeviceFit.Answer> answers = f.largest(List.of(Planners.named("checkpoint-sqrt")), budget, H100, 1 << 16);
        assertEquals(List.of("baseline", "checkpoint-sqrt"), answers.stream().map(DeviceFit.Answer::planner).toList());
        assertEquals(128, answers.get(0).largest());
        DeviceFit.Answer planned = answers.get(1);
        assertTrue(planned.largest() > 128, "checkpoint-sqrt: " + planned.largest());
        assertTrue(Simulator.simulate(planned.result().plan(), H100).peakBytes() <= budget);
    }

    @Test
    void nothingFitsATinyBudget() {
        DeviceFit.Answer a = sequence(llama(), 1, TrainingSetup.DEFAULT).largest(Planners.named("baseline"), 1024,
                H100, 1 << 16);
        assertEquals(0, a.largest());
        assertEquals(0, a.peakBytes());
    }

    @Test
    void anUnknownSymbolIsNamedWithTheModelsSymbols() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new DeviceFit(llama(), 1,
                DType.FP32, Map.of(), "S", Optimizer.ADAM, FrameworkProfile.GENERIC, TrainingSetup.DEFAULT));
        assertEquals("llama-test has no dimension symbol 'S' to search (its symbols: T)", e.getMessage());
    }
}

package memplan.parallel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.ir.DType;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeepSpeedConfigTest {
    static JsonNode parse(String s) throws Exception {
        return new ObjectMapper().readTree(s);
    }

    @Test
    void zeroThreeWithOffloadAndAccumulation() throws Exception {
        Layout l = Layout.parse(8, null, "zero3").withMicroBatches(4).withOffload(true, true);
        JsonNode c = parse(DeepSpeedConfig.of(l, 256, DType.BF16, Optimizer.ADAM, null));
        assertEquals(256, c.get("train_batch_size").asInt());
        assertEquals(8, c.get("train_micro_batch_size_per_gpu").asInt(), "256 / (8 ranks x 4 micro-batches)");
        assertEquals(4, c.get("gradient_accumulation_steps").asInt());
        assertEquals(3, c.get("zero_optimization").get("stage").asInt());
        assertEquals("cpu", c.get("zero_optimization").get("offload_optimizer").get("device").asText());
        assertEquals("cpu", c.get("zero_optimization").get("offload_param").get("device").asText());
        assertTrue(c.get("bf16").get("enabled").asBoolean());
        assertFalse(c.has("fp16"));
        assertEquals("Adam", c.get("optimizer").get("type").asText());
        assertFalse(c.has("activation_checkpointing"));
    }

    @Test
    void stagesFollowTheShardModeAndFsdpIsRefused() throws Exception {
        for (String m : List.of("none", "zero1", "zero2", "zero3")) {
            JsonNode c = parse(DeepSpeedConfig.of(Layout.parse(4, null, m), 16, DType.FP16, Optimizer.SGD, null));
            assertEquals(ModelStates.stageOf(ShardMode.parse(m)), c.get("zero_optimization").get("stage").asInt());
            assertTrue(c.get("fp16").get("enabled").asBoolean());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeepSpeedConfig.of(Layout.parse(4, null, "fsdp-full"), 16, DType.FP32, Optimizer.ADAM, null));
        assertTrue(e.getMessage().contains("fsdp-full"), e.getMessage());
    }

    @Test
    void aRecomputingPlanTurnsOnActivationCheckpointing() throws Exception {
        Schedule s = ParallelProfileTest.mlp(4, Optimizer.ADAM, 64, 10);
        Plan base = Plan.baseline(s);
        JsonNode none = parse(DeepSpeedConfig.of(Layout.parse(2, null, "zero2"), 8, DType.FP32, Optimizer.ADAM, base));
        assertFalse(none.has("activation_checkpointing"));
        Decision[] d = base.decisions().clone();
        int relu = s.tensors().stream().filter(t -> t.name().startsWith("relu0")).findFirst().orElseThrow().id();
        d[relu] = new Decision.Recompute(List.of());
        Plan recompute = new Plan(s, d, "test");
        JsonNode on = parse(DeepSpeedConfig.of(Layout.parse(2, null, "zero2"), 8, DType.FP32, Optimizer.ADAM,
                recompute));
        assertTrue(on.has("activation_checkpointing"));
        assertFalse(on.get("activation_checkpointing").get("cpu_checkpointing").asBoolean());
    }
}

package memplan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.cli.ProfileCommandTest.Result;
import org.junit.jupiter.api.Test;

import static memplan.cli.ProfileCommandTest.assertOneErrorLine;
import static memplan.cli.ProfileCommandTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** --freeze, --lora, --grad-accum, --optimizer adam8bit, --base-weights and --amp through the commands. */
class TrainingFlagsTest {
    static JsonNode json(String... args) throws Exception {
        Result r = run(args);
        assertEquals(0, r.code(), r.err());
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void profileReportsTheSetupAndItsMemory() throws Exception {
        JsonNode full = json("profile", "tiny-transformer", "--batch", "4", "--json");
        JsonNode lora = json("profile", "tiny-transformer", "--batch", "4", "--json",
                "--lora", "r=4,alpha=8,targets=attn.q,attn.v");
        assertEquals(full.get("parameters").asLong(), full.get("trainableParameters").asLong());
        // two blocks x (q, v) x (A 4x32 + B 32x4)
        assertEquals(2 * 2 * (4 * 32 + 32 * 4), lora.get("trainableParameters").asLong());
        assertTrue(lora.get("peakBytes").asLong() < full.get("peakBytes").asLong());
        JsonNode nf4 = json("profile", "tiny-transformer", "--batch", "4", "--json", "--lora", "r=4,targets=attn.q",
                "--base-weights", "nf4", "--optimizer", "adam8bit", "--amp", "bf16", "--grad-accum", "4");
        assertEquals("nf4", nf4.get("baseWeights").asText());
        assertEquals("bf16", nf4.get("amp").asText());
        assertEquals(4, nf4.get("microBatches").asInt());
        assertEquals("blockwise_8bit", nf4.get("optimizerStates").asText());
        Result text = run("profile", "tiny-transformer", "--batch", "4", "--freeze", "wte,wpe,h.0");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("training        "), text.out());
    }

    @Test
    void planSimulateAndMaxbatchTakeTheFlags() throws Exception {
        Result plan = run("plan", "tiny-transformer", "--batch", "4", "--planner", "baseline", "--grad-accum", "2",
                "--lora", "r=2,targets=attn.q", "--json");
        assertEquals(0, plan.code(), plan.err());
        Result mb = run("maxbatch", "tiny-transformer", "--budget", "4MiB", "--planner", "baseline",
                "--freeze", "h.0", "--json");
        assertEquals(0, mb.code(), mb.err());
        Result mbFull = run("maxbatch", "tiny-transformer", "--budget", "4MiB", "--planner", "baseline", "--json");
        JsonNode a = new ObjectMapper().readTree(mb.out()), b = new ObjectMapper().readTree(mbFull.out());
        assertTrue(a.get("maxBatch").asInt() >= b.get("maxBatch").asInt());
    }

    @Test
    void runTrainsLoraOnTheCpuAndRefusesWhatItCannotCompute() {
        Result ok = run("run", "tiny-transformer", "--batch", "2", "--backend", "cpu", "--iterations", "2",
                "--lora", "r=2,targets=attn.q", "--grad-accum", "2");
        assertEquals(0, ok.code(), ok.err());
        for (String[] f : new String[][]{{"--optimizer", "adam8bit", "8-bit optimizer states"},
                {"--amp", "bf16", "mixed precision"}}) {
            Result r = run("run", "tiny-transformer", "--batch", "2", "--backend", "cpu", "--iterations", "1", f[0],
                    f[1]);
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith("error: training runs compute in fp32 and cannot execute " + f[2]),
                    r.err());
        }
    }

    /** fit --max-seq / --max-batch: one GPU's answer for a training setup, with and without a planner. */
    @Test
    void fitFindsTheLongestSequenceAndTheLargestBatchOnOneGpu() throws Exception {
        JsonNode full = json("fit", "tiny-llama", "--batch", "2", "--memory", "4MiB", "--max-seq", "--json");
        JsonNode lora = json("fit", "tiny-llama", "--batch", "2", "--memory", "4MiB", "--max-seq", "--json",
                "--lora", "r=4,targets=q_proj,v_proj", "--planner", "checkpoint-sqrt");
        assertEquals("T", full.get("searched").asText());
        int t = full.get("answers").get(0).get("largest").asInt();
        assertTrue(t > 16, "tiny-llama trains at its own T=16 in 4 MiB: " + full);
        assertTrue(full.get("answers").get(0).get("peakBytes").asLong() <= 4 << 20);
        // at T + 1 the same setup no longer fits in 4 MiB
        JsonNode over = json("profile", "tiny-llama", "--batch", "2", "--dim", "T=" + (t + 1), "--json");
        assertTrue(over.get("peakBytes").asLong() > 4 << 20, over.toString());
        JsonNode base = lora.get("answers").get(0), planned = lora.get("answers").get(1);
        assertEquals("baseline", base.get("planner").asText());
        assertEquals("checkpoint-sqrt", planned.get("planner").asText());
        assertTrue(base.get("largest").asInt() > t, "LoRA fits a longer sequence: " + lora);
        assertTrue(planned.get("largest").asInt() >= base.get("largest").asInt(), lora.toString());
        JsonNode batch = json("fit", "tiny-llama", "--dim", "T=64", "--memory", "4MiB", "--max-batch", "--json",
                "--lora", "r=4", "--base-weights", "nf4");
        assertEquals("batch", batch.get("searched").asText());
        assertTrue(batch.get("answers").get(0).get("largest").asInt() >= 1, batch.toString());
        Result text = run("fit", "tiny-llama", "--batch", "1", "--gpu", "rtx4090", "--max-seq", "--limit", "4096");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("on one rtx4090 (24.0 GiB)") && text.out().contains("4,096")
                && text.out().contains("(the --limit)"), text.out());
    }

    /** The fewest-GPUs search trains what the flags say: LoRA's per-rank peak is below full training's. */
    @Test
    void fitsFewestGpusUseTheTrainingSetup() throws Exception {
        JsonNode full = json("fit", "tiny-llama", "--batch", "8", "--memory", "2MiB", "--json");
        JsonNode lora = json("fit", "tiny-llama", "--batch", "8", "--memory", "2MiB", "--json", "--lora", "r=2");
        assertEquals(1, full.get("gpus").asInt());
        assertEquals(1, lora.get("gpus").asInt());
        long fullPeak = full.get("layout").get("highestPeakBytes").asLong();
        long loraPeak = lora.get("layout").get("highestPeakBytes").asLong();
        assertTrue(loraPeak < fullPeak, loraPeak + " vs " + fullPeak);
        JsonNode profile = json("profile", "tiny-llama", "--batch", "8", "--json", "--lora", "r=2");
        assertEquals(2L * ((32 * 2 + 2 * 32) + (32 * 2 + 2 * 16)), profile.get("trainableParameters").asLong(),
                "q_proj (32 -> 32) and v_proj (32 -> 16) in both layers, r 2");
    }

    @Test
    void runTrainsLoraOnALlamaOnTheCpu() {
        // frozen RMSNorm weights keep no normalised x, the first layer's attention keeps no q (k wants no gradient)
        Result ok = run("run", "tiny-llama", "--batch", "2", "--backend", "cpu", "--iterations", "2",
                "--lora", "r=2,targets=q_proj,v_proj");
        assertEquals(0, ok.code(), ok.err());
    }

    @Test
    void badValuesAreOneLineAndExitTwo() {
        assertOneErrorLine(run("fit", "tiny-llama", "--max-seq", "--dim", "T=32"), "--max-seq", "--dim T=32");
        assertOneErrorLine(run("fit", "tiny-cnn", "--max-seq"), "no sequence dimension T");
        assertOneErrorLine(run("fit", "tiny-llama", "--max-seq", "--gpu", "rtx9090"), "rtx9090", "rtx4090");
        assertOneErrorLine(run("fit", "tiny-llama", "--planner", "swap"), "--planner", "--max-seq");
        assertOneErrorLine(run("profile", "tiny-transformer", "--freeze", "nope"), "'nope' names no parameter");
        assertOneErrorLine(run("profile", "tiny-transformer", "--freeze", "*"), "nothing would be trained");
        assertOneErrorLine(run("profile", "tiny-transformer", "--lora", "r=0"), "--lora r=0", "at least 1");
        assertOneErrorLine(run("profile", "tiny-transformer", "--lora", "r=4,size=2"), "unknown LoRA key 'size'");
        assertOneErrorLine(run("profile", "tiny-transformer", "--lora", "r=4"), "name no Linear layer");
        assertOneErrorLine(run("profile", "tiny-transformer", "--grad-accum", "0"), "--grad-accum", "positive");
        assertOneErrorLine(run("profile", "tiny-transformer", "--optimizer", "adam4bit"), "adam8bit");
        assertOneErrorLine(run("profile", "tiny-transformer", "--base-weights", "nf3"), "--base-weights", "nf4");
        assertOneErrorLine(run("profile", "tiny-transformer", "--base-weights", "nf4"), "freeze some");
        assertOneErrorLine(run("profile", "tiny-transformer", "--amp", "fp8"), "--amp", "bf16");
        assertOneErrorLine(run("profile", "tiny-transformer", "--amp", "bf16", "--dtype", "fp16"), "--dtype fp32");
    }
}

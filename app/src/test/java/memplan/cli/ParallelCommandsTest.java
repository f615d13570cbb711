package memplan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static memplan.cli.PlannerCommandsTest.run;
import static memplan.cli.PlannerCommandsTest.userError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The layout flags of plan, simulate and maxbatch, and `memplan fit`. */
class ParallelCommandsTest {
    @TempDir
    Path dir;

    @Test
    void simulatePrintsEveryZeroOneRankAndTheHighest() throws Exception {
        PlannerCommandsTest.Run r = run("simulate", "tiny-cnn", "--batch", "16", "--world-size", "4", "--shard", "zero1",
                "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode l = Json.MAPPER.readTree(r.out()).get("layout");
        assertEquals(4, l.get("worldSize").asInt());
        assertEquals(4, l.get("microBatchSize").asInt(), "the global batch over 4 ranks");
        assertEquals(4, l.get("ranks").size());
        long most = 0;
        for (JsonNode x : l.get("ranks")) most = Math.max(most, x.get("peakBytes").asLong());
        assertEquals(most, l.get("highestPeakBytes").asLong());
        assertTrue(l.get("ranks").get(0).get("buffers").get(0).get("name").asText().contains("DDP"));
        PlannerCommandsTest.Run text = run("simulate", "tiny-cnn", "--batch", "16", "--world-size", "4");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("per rank") && text.out().contains("highest rank"), text.out());
        assertTrue(text.out().contains("ms per iteration"), text.out());
        JsonNode t = l.get("time");
        assertTrue(t.get("dataParallelBytes").asLong() > 0, r.out());
        assertTrue(t.get("iterationSeconds").asDouble() >= t.get("computeSeconds").asDouble());
    }

    @Test
    void planAndMaxbatchTakeTheLayout() throws Exception {
        PlannerCommandsTest.Run p = run("plan", "tiny-cnn", "--batch", "16", "--planner", "share", "--parallel",
                "dp=2,tp=2", "--shard", "zero2", "--json");
        assertEquals(0, p.code(), p.err());
        assertEquals("zero2", Json.MAPPER.readTree(p.out()).get("layout").get("shard").asText());
        PlannerCommandsTest.Run one = run("maxbatch", "resnet18", "--budget", "4GiB", "--json");
        PlannerCommandsTest.Run four = run("maxbatch", "resnet18", "--budget", "4GiB", "--world-size", "4",
                "--shard", "zero3", "--json");
        assertEquals(0, four.code(), four.err());
        int b1 = Json.MAPPER.readTree(one.out()).get("maxBatch").asInt();
        int b4 = Json.MAPPER.readTree(four.out()).get("maxBatch").asInt();
        assertEquals(0, b4 % 4);
        assertTrue(b4 >= 4 * b1, b4 + " on four sharded ranks, " + b1 + " on one");
    }

    @Test
    void fitFindsTheFewestGpus() throws Exception {
        PlannerCommandsTest.Run r = run("fit", "gpt2-small", "--gpu", "h100", "--batch", "512",
                "--max-micro-batches", "1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        int gpus = j.get("gpus").asInt();
        long peak = j.get("layout").get("highestPeakBytes").asLong();
        assertTrue(peak <= j.get("memoryPerGpuBytes").asLong());
        // half as many GPUs do not fit: the same search capped there finds nothing
        PlannerCommandsTest.Run fewer = run("fit", "gpt2-small", "--gpu", "h100", "--batch", "512",
                "--max-micro-batches", "1", "--max-gpus", String.valueOf(gpus / 2));
        userError(fewer, "fits no layout");
        PlannerCommandsTest.Run text = run("fit", "gpt-1.3b", "--gpu", "h100", "--batch", "1024");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("fewest GPUs") && text.out().contains("per-rank peak"), text.out());
    }

    @Test
    void planAndFitWriteADeepSpeedConfig() throws Exception {
        Path ds = dir.resolve("ds.json");
        PlannerCommandsTest.Run p = run("plan", "tiny-cnn", "--batch", "16", "--planner", "checkpoint-sqrt",
                "--world-size", "4", "--shard", "zero2", "--deepspeed-config", ds.toString());
        assertEquals(0, p.code(), p.err());
        JsonNode c = Json.MAPPER.readTree(Files.readString(ds));
        assertEquals(2, c.get("zero_optimization").get("stage").asInt());
        assertEquals(4, c.get("train_micro_batch_size_per_gpu").asInt());
        assertTrue(c.has("activation_checkpointing"), "checkpoint-sqrt recomputes");
        userError(run("plan", "tiny-cnn", "--batch", "16", "--planner", "share", "--world-size", "4", "--shard",
                "fsdp-full", "--deepspeed-config", dir.resolve("x.json").toString()), "--deepspeed-config");
        assertTrue(!Files.exists(dir.resolve("x.json")), "nothing written on an error");
        Path fit = dir.resolve("fit.json");
        PlannerCommandsTest.Run f = run("fit", "gpt2-small", "--batch", "64", "--max-micro-batches", "1",
                "--deepspeed-config", fit.toString());
        assertEquals(0, f.code(), f.err());
        assertEquals(64, Json.MAPPER.readTree(Files.readString(fit)).get("train_batch_size").asInt());
    }

    @Test
    void planRunsThePlannerInsideEveryRankAgainstTheBudgetPerDevice() throws Exception {
        String[] layout = {"gpt2-small", "--batch", "16", "--world-size", "4", "--parallel", "dp=1,tp=2,pp=2",
                "--micro-batches", "4"};
        PlannerCommandsTest.Run base = run(concat(new String[]{"simulate"}, layout, "--json"));
        assertEquals(0, base.code(), base.err());
        long unplanned = Json.MAPPER.readTree(base.out()).get("layout").get("highestPeakBytes").asLong();
        long budget = unplanned * 8 / 10;
        Path out = dir.resolve("ranks.json");
        PlannerCommandsTest.Run p = run(concat(new String[]{"plan"}, layout, "--planner", "recompute-greedy",
                "--budget", budget + "B", "--out", out.toString(), "--json"));
        assertEquals(0, p.code(), p.err());
        JsonNode j = Json.MAPPER.readTree(p.out());
        JsonNode l = j.get("layout");
        assertEquals(2, l.get("ranks").size(), "one rank per stage");
        assertTrue(l.get("highestPlannedPeakBytes").asLong() <= budget);
        assertEquals(unplanned, l.get("highestPeakBytes").asLong());
        assertEquals(j.get("peakBytes").asLong(), l.get("highestPlannedPeakBytes").asLong(), "summary: highest rank");
        for (JsonNode r : l.get("ranks")) assertTrue(r.get("plannedPeakBytes").asLong() <= budget, r.toString());
        // the stages' plans differ, so each has its file, and simulate applies a rank's file to every rank
        assertEquals(2, l.get("distinctPlans").asInt());
        Path stage1 = dir.resolve("ranks.rank2.json");
        assertTrue(Files.isRegularFile(dir.resolve("ranks.rank0.json")) && Files.isRegularFile(stage1));
        PlannerCommandsTest.Run sim = run(concat(new String[]{"simulate"}, layout, "--plan", stage1.toString(),
                "--json"));
        assertEquals(0, sim.code(), sim.err());
        JsonNode sl = Json.MAPPER.readTree(sim.out()).get("layout");
        assertEquals(l.get("ranks").get(1).get("plannedPeakBytes").asLong(),
                sl.get("ranks").get(1).get("plannedPeakBytes").asLong(), "stage 1's own plan, as planned");
        PlannerCommandsTest.Run text = run(concat(new String[]{"simulate"}, layout, "--planner", "recompute-greedy",
                "--budget", budget + "B"));
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("unplanned") && text.out().contains("highest rank"), text.out());
        userError(run(concat(new String[]{"plan"}, layout, "--planner", "recompute-greedy", "--budget", "64MiB")),
                "rank 0 (pipeline stage 0): infeasible");
    }

    private static String[] concat(String[] a, String[] b, String... c) {
        String[] r = new String[a.length + b.length + c.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        System.arraycopy(c, 0, r, a.length + b.length, c.length);
        return r;
    }

    @Test
    void badLayoutFlagsAreOneLine() {
        userError(run("simulate", "tiny-cnn", "--batch", "8", "--world-size", "0"), "--world-size");
        userError(run("simulate", "tiny-cnn", "--batch", "8", "--parallel", "dp=x"), "dp must be a whole number");
        userError(run("simulate", "tiny-cnn", "--batch", "8", "--parallel", "dp=2,zz=2"), "unknown degree");
        userError(run("simulate", "tiny-cnn", "--batch", "8", "--world-size", "4", "--parallel", "dp=2"),
                "not the world size");
        userError(run("simulate", "tiny-cnn", "--batch", "8", "--world-size", "4", "--shard", "zero9"),
                "unknown shard mode");
        userError(run("simulate", "tiny-cnn", "--batch", "6", "--world-size", "4"), "split evenly");
        userError(run("simulate", "tiny-cnn", "--batch", "8", "--shard", "zero3"), "more than one");
        userError(run("simulate", "tiny-cnn", "--batch", "8", "--world-size", "2", "--offload", "disk"),
                "unknown part");
        userError(run("maxbatch", "tiny-cnn", "--budget", "1GiB", "--world-size", "2", "--planner", "swap"),
                "baseline only");
        userError(run("fit", "tiny-cnn", "--gpu", "x100", "--batch", "8"), "unknown device");
        userError(run("fit", "tiny-cnn", "--batch", "0"), "--batch");
        userError(run("simulate", "tiny-cnn", "--batch", "8", "--world-size", "2", "--network", "nvlink"),
                "--network");
        userError(run("simulate", "tiny-cnn", "--batch", "8", "--world-size", "2", "--network", "nvlink,tin-can"),
                "unknown network");
    }
}

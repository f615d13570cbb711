package memplan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** plan, simulate, maxbatch and bench: output, plan files, and exit code 2 with one-line errors. */
class PlannerCommandsTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        CommandLine cl = MemPlanCommand.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    static void userError(Run r, String contains) {
        assertEquals(2, r.code(), r.out() + r.err());
        String e = r.err().strip();
        assertTrue(e.startsWith("error: "), e);
        assertTrue(e.contains(contains), e);
        assertEquals(1, e.lines().count(), "one line: " + e);
    }

    @Test
    void planWritesAFileThatSimulateReads() throws Exception {
        Path f = dir.resolve("plan.json");
        Path csv = dir.resolve("t.csv");
        Run p = run("plan", "lenet5", "--batch", "16", "--planner", "checkpoint-sqrt", "--out", f.toString());
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("predicted peak"), p.out());
        assertTrue(p.out().contains("overhead"));
        assertTrue(p.out().contains("bytes moved"));
        assertTrue(Files.readString(f).contains("\"format\" : \"memplan-plan\""));
        Run s = run("simulate", "lenet5", "--batch", "16", "--plan", f.toString(), "--csv", csv.toString(), "--json");
        assertEquals(0, s.code(), s.err());
        JsonNode j = Json.MAPPER.readTree(s.out());
        assertEquals("checkpoint-sqrt", j.get("planner").asText());
        assertTrue(j.get("peakBytes").asLong() > 0);
        assertTrue(Files.readString(csv).startsWith("start_s,end_s,kind,stream"));
        // The same plan does not apply at another batch.
        userError(run("simulate", "lenet5", "--batch", "8", "--plan", f.toString()), "model.hash");
    }

    @Test
    void planWithBudgetPrintsJson() throws Exception {
        Run r = run("plan", "tiny-cnn", "--batch", "8", "--planner", "recompute-greedy", "--budget", "90%", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertTrue(j.get("peakBytes").asLong() <= j.get("budgetBytes").asLong());
        assertTrue(j.has("overhead") && j.has("bytesMoved") && j.has("solveMillis"));
    }

    @Test
    void solverPlannerReportsBoundAndGap() throws Exception {
        Run r = run("plan", "tiny-cnn", "--batch", "8", "--planner", "recompute-optimal", "--budget", "90%", "--time-limit", "2s",
                "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertTrue(j.get("peakBytes").asLong() <= j.get("budgetBytes").asLong());
        JsonNode sv = j.get("solver");
        assertNotNull(sv, r.out());
        assertTrue(sv.get("boundSeconds").asDouble() <= sv.get("incumbentSeconds").asDouble() + 1e-12, r.out());
        assertTrue(sv.get("gap").asDouble() >= 0 && sv.get("gap").asDouble() <= 1, r.out());
        Run text = run("plan", "tiny-cnn", "--batch", "8", "--planner", "recompute-optimal", "--budget", "90%", "--time-limit", "2s");
        assertTrue(text.out().contains("best bound") && text.out().contains("gap"), text.out());
        userError(run("plan", "tiny-cnn", "--planner", "recompute-optimal", "--time-limit", "soon"), "--time-limit");
        userError(run("plan", "tiny-cnn", "--planner", "recompute-optimal", "--gap", "150%"), "--gap");
    }

    @Test
    void maxBatchReportsTheGain() throws Exception {
        Run r = run("maxbatch", "lenet5", "--budget", "64MiB", "--planner", "checkpoint-sqrt", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertTrue(j.get("maxBatch").asInt() >= j.get("baselineMaxBatch").asInt());
        assertTrue(j.get("baselineMaxBatch").asInt() > 0);
    }

    @Test
    void maxBatchFollowsTheFramework() throws Exception {
        Run g = run("maxbatch", "lenet5", "--budget", "64MiB", "--framework", "generic", "--json");
        Run f = run("maxbatch", "lenet5", "--budget", "64MiB", "--optimizer", "adam", "--optimizer-form", "foreach",
                "--json");
        assertEquals(0, g.code(), g.err());
        assertEquals(0, f.code(), f.err());
        int generic = Json.MAPPER.readTree(g.out()).get("baselineMaxBatch").asInt();
        int foreach = Json.MAPPER.readTree(f.out()).get("baselineMaxBatch").asInt();
        assertTrue(foreach > 0 && foreach <= generic, "foreach " + foreach + " vs generic " + generic);
        userError(run("maxbatch", "lenet5", "--budget", "64MiB", "--framework", "jax"), "unknown framework 'jax'");
    }

    @Test
    void benchPlannersPrintsATable() {
        Run r = run("bench", "planners", "--models", "tiny-mlp", "--planners", "baseline,checkpoint-sqrt", "--batch", "8");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("budget 30%"), r.out());
        assertTrue(r.out().contains("checkpoint-sqrt"));
        assertTrue(r.out().contains("- ("), "infeasible cells are marked: " + r.out());
    }

    /** On a 16-block chain at 6 slots the greedy and the solver re-run the binomial optimum's blocks. */
    @Test
    void benchChainsComparesWithTheBinomialOptimum() {
        Run r = run("bench", "chains", "--ops", "32", "--width", "4", "--batch", "4096", "--slots", "6",
                "--planners", "recompute-greedy,recompute-optimal", "--time-limit", "20s", "--max-rebuilds", "4",
                "--json");
        assertEquals(0, r.code(), r.err());
        long binomial = BenchChainsCommand.binomialExtra(16, 4);
        assertTrue(binomial > 0);
        assertTrue(r.out().contains("\"binomialBlocks\" : " + binomial), r.out());
        assertTrue(r.out().contains("\"planner\" : \"recompute-optimal\""), r.out());
        assertTrue(r.out().contains("\"blocksRerun\" : " + binomial), "the solver reaches the optimum: " + r.out());
        Run t = run("bench", "chains", "--ops", "40", "--planners", "recompute-greedy");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("recompute-greedy"), t.out());
    }

    @Test
    void badArgumentsExitWithTwoAndOneLine() {
        userError(run("plan", "lenet5", "--planner", "magic"), "unknown planner 'magic'");
        userError(run("plan", "lenet5", "--planner", "swap", "--budget", "lots"), "is not a budget");
        userError(run("plan", "lenet5"), "--planner is required");
        userError(run("plan", "lenet5", "--planner", "baseline", "--budget", "1KiB"), "infeasible: the least peak reachable is");
        userError(run("plan", "lenet5", "--planner", "swap", "--device", "tpu"), "unknown device 'tpu'");
        userError(run("simulate", "lenet5", "--plan", dir.resolve("none.json").toString()), "does not exist");
        userError(run("maxbatch", "lenet5", "--budget", "50%"), "must be a size");
        userError(run("maxbatch", "lenet5"), "--budget");
        userError(run("bench", "planners", "--models", "nope"), "unknown model 'nope'");
        userError(run("bench", "planners", "--models", "tiny-mlp", "--planners", "magic"), "unknown planner");
        userError(run("bench", "chains", "--ops", "1"), "--ops must be at least 2");
        userError(run("bench", "chains", "--budget", "2"), "--budget must be a share");
        userError(run("bench", "chains", "--planners", "magic"), "unknown planner");
    }

    @Test
    void badPlanFilesAreUserErrors() throws Exception {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{\"format\": \"memplan-plan\", \"version\": 1, \"model\": {");
        userError(run("simulate", "lenet5", "--plan", f.toString()), f + ": not valid JSON");
        Files.writeString(f, "{\"format\": \"memplan-plan\", \"version\": 2}");
        userError(run("simulate", "lenet5", "--plan", f.toString()), "version: unsupported version 2");
    }
}

package memplan.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `memplan export pytorch`: the module it writes, and its one-line errors with exit code 2. */
class ExportCommandTest {
    @TempDir
    Path dir;

    private Path plan(String batch) {
        Path p = dir.resolve("plan-b" + batch + ".json");
        OnnxCliTest.Result r = OnnxCliTest.run("plan", "tiny-cnn", "--batch", batch, "--planner", "recompute-greedy",
                "--budget", "99%", "--out", p.toString());
        assertEquals(0, r.code(), r.err());
        return p;
    }

    private static void oneLineError(OnnxCliTest.Result r, String contains) {
        assertEquals(2, r.code(), r.out() + r.err());
        String err = r.err().strip();
        assertFalse(err.contains("\n"), err);
        assertTrue(err.startsWith("error: ") && err.contains(contains), err);
        assertFalse(err.contains("Exception"), err);
    }

    @Test
    void writesAModuleAndSaysWhatItCannotExpress() throws Exception {
        Path out = dir.resolve("memplan_plan.py");
        Path expressed = dir.resolve("expressed.json");
        OnnxCliTest.Result r = OnnxCliTest.run("export", "pytorch", "tiny-cnn", "--batch", "2", "--plan",
                plan("2").toString(), "--out", out.toString(), "--expressed-plan", expressed.toString());
        assertEquals(0, r.code(), r.err());
        String py = Files.readString(out);
        assertTrue(py.startsWith("\"\"\"MemPlan plan for PyTorch: tiny-cnn, batch 2"), py.substring(0, 80));
        // a bundled sample's layer names carry no PyTorch module path: every decision is listed as not expressed
        assertTrue(py.contains("NOT_EXPRESSED = [\n    ("), py);
        assertTrue(r.err().startsWith("warning: "), r.err());
        assertTrue(r.out().contains("not expressed: recompute"), r.out());
        // the plan as carried out keeps all of them, and simulates
        OnnxCliTest.Result sim = OnnxCliTest.run("simulate", "tiny-cnn", "--batch", "2", "--plan",
                expressed.toString());
        assertEquals(0, sim.code(), sim.err());
        assertTrue(sim.out().contains("all kept"), sim.out());
    }

    @Test
    void aPlanForAnotherBatchIsRefused() {
        Path out = dir.resolve("m.py");
        OnnxCliTest.Result r = OnnxCliTest.run("export", "pytorch", "tiny-cnn", "--batch", "4", "--plan",
                plan("2").toString(), "--out", out.toString());
        oneLineError(r, "model.hash");
        assertFalse(Files.exists(out));
    }

    @Test
    void badOrMissingPlanFilesGiveOneLine() throws Exception {
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{ \"format\" : \"memplan-plan\", ");
        oneLineError(OnnxCliTest.run("export", "pytorch", "tiny-cnn", "--plan", bad.toString(), "--out",
                dir.resolve("m.py").toString()), "bad.json");
        oneLineError(OnnxCliTest.run("export", "pytorch", "tiny-cnn", "--plan", dir.resolve("none.json").toString(),
                "--out", dir.resolve("m.py").toString()), "does not exist");
        oneLineError(OnnxCliTest.run("export", "pytorch", "tiny-cnn", "--plan", bad.toString()), "--out");
    }

    @Test
    void neverWritesOverItsPlan() throws Exception {
        Path p = plan("2");
        String before = Files.readString(p);
        oneLineError(OnnxCliTest.run("export", "pytorch", "tiny-cnn", "--batch", "2", "--plan", p.toString(),
                "--out", p.toString()), p.getFileName().toString());
        assertEquals(before, Files.readString(p));
    }
}

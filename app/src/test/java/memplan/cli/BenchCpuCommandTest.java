package memplan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import memplan.backend.cpu.WinogradConv;
import org.junit.jupiter.api.Test;

import static memplan.cli.PlannerCommandsTest.run;
import static memplan.cli.PlannerCommandsTest.userError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `memplan bench cpu`: its JSON (GEMM checked, a step time per model) and one-line errors for bad arguments. */
class BenchCpuCommandTest {
    @Test
    void jsonReportsGemmAndStepTimes() throws Exception {
        PlannerCommandsTest.Run r = run("bench", "cpu", "tiny-mlp", "--model", "tiny-cnn", "--batch", "4",
                "--threads", "2", "--gemm", "96", "--no-peak", "--warmup", "1", "--warmup-seconds", "0.2",
                "--iterations", "2", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertEquals(2, j.get("threads").asInt());
        assertTrue(j.get("backend").asText().contains("GEMM: "), j.toString());
        assertTrue(j.has("fmaPeakUnavailable"), j.toString());
        JsonNode g = j.get("gemm").get(0);
        assertEquals(96, g.get("n").asInt());
        assertTrue(g.get("gflops").asDouble() > 0);
        assertTrue(g.get("maxRelativeError").asDouble() < 1e-5, g.toString());
        assertEquals(2, j.get("models").size());
        for (JsonNode m : j.get("models")) {
            assertEquals(4, m.get("batch").asInt());
            assertEquals(2, m.get("seconds").size());
            assertTrue(m.get("medianSeconds").asDouble() > 0);
        }
        assertEquals("tiny-cnn", j.get("models").get(1).get("model").asText());
    }

    /** --compare-conv times both convolution algorithms and leaves the backend's setting as it found it. */
    @Test
    void compareConvReportsBothAlgorithms() throws Exception {
        boolean was = WinogradConv.isEnabled();
        PlannerCommandsTest.Run r = run("bench", "cpu", "tiny-cnn", "--batch", "2", "--threads", "1", "--gemm", "0",
                "--no-peak", "--warmup", "1", "--warmup-seconds", "0.1", "--iterations", "3", "--compare-conv",
                "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode m = Json.MAPPER.readTree(r.out()).get("models").get(0);
        assertEquals("tiny-cnn", m.get("model").asText());
        assertTrue(m.get("medianSecondsIm2col").asDouble() > 0, m.toString());
        assertTrue(m.get("medianSecondsWinograd").asDouble() > 0, m.toString());
        assertEquals(was, WinogradConv.isEnabled());
        PlannerCommandsTest.Run text = run("bench", "cpu", "tiny-cnn", "--batch", "2", "--threads", "1", "--gemm",
                "0", "--no-peak", "--warmup", "0", "--warmup-seconds", "0", "--iterations", "1", "--compare-conv");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("by im2col") && text.out().contains("by Winograd"), text.out());
    }

    @Test
    void peakProbeRunsInAChildJvmWithTheVectorApi() {
        BenchCpuCommand.Peak p = BenchCpuCommand.probePeak(1);
        assertEquals(null, p.unavailable(), "probe failed: " + p.unavailable());
        assertTrue(p.gflops() > 0.1, "peak " + p.gflops());
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        userError(run("bench", "cpu", "--threads", "0", "--no-peak"), "--threads");
        userError(run("bench", "cpu", "--iterations", "0", "--no-peak"), "--iterations");
        userError(run("bench", "cpu", "--gemm", "-3", "--no-peak"), "--gemm");
        userError(run("bench", "cpu", "--warmup-seconds", "-1", "--no-peak"), "--warmup-seconds");
        userError(run("bench", "cpu", "no-such-model", "--no-peak"), "no-such-model");
    }
}

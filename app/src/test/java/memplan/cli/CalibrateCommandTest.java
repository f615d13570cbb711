package memplan.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static memplan.cli.ProfileCommandTest.assertOneErrorLine;
import static memplan.cli.ProfileCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `memplan calibrate` and the calibrated cpu device of the other commands, with the real probes into a cache folder
 * of the test's own. No time is asserted: only that the figures are there and the cache is used and redone.
 */
class CalibrateCommandTest {
    @TempDir
    Path dir;
    String oldMode, oldDir;

    @BeforeEach
    void calibrated() {
        oldMode = System.getProperty("memplan.cpu.calibration");
        oldDir = System.getProperty("memplan.cache.dir");
        System.clearProperty("memplan.cpu.calibration");
        System.setProperty("memplan.cache.dir", dir.toString());
    }

    @AfterEach
    void restore() {
        restore("memplan.cpu.calibration", oldMode);
        restore("memplan.cache.dir", oldDir);
    }

    private static void restore(String key, String value) {
        if (value == null) System.clearProperty(key);
        else System.setProperty(key, value);
    }

    @Test
    void calibratesCachesAndTheCpuDeviceOfOtherCommandsUsesTheCache() throws Exception {
        ProfileCommandTest.Result r = run("calibrate", "--json", "--check", "--models", "tiny-mlp:2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().startsWith("note: calibrating the cpu device model on this machine"), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.get("measured").asBoolean());
        assertTrue(j.get("model").get("gapSeconds").asDouble() >= 0);
        assertTrue(j.get("model").get("products").size() > 0 && j.get("model").get("classes").size() > 0);
        assertTrue(j.get("probeSamples").size() > 100);
        JsonNode row = j.get("check").get(0);
        assertEquals("tiny-mlp", row.get("model").asText());
        assertEquals(2, row.get("batch").asInt());
        assertTrue(row.get("measuredSeconds").asDouble() > 0 && row.get("predictedSeconds").asDouble() > 0);
        assertEquals(row.get("predictedSeconds").asDouble() / row.get("measuredSeconds").asDouble(),
                row.get("ratio").asDouble(), 1e-9);
        // where the time goes: per op type and phase, and the executor's own time, whose predictions add up
        double predicted = 0;
        boolean executor = false;
        for (JsonNode c : row.get("classes")) {
            predicted += c.get("predictedSeconds").asDouble();
            executor |= c.get("class").asText().equals("executor");
        }
        assertTrue(executor);
        assertEquals(row.get("predictedSeconds").asDouble(), predicted, 1e-9 * predicted);
        Path cache = dir.resolve("cpu-calibration.json");
        assertTrue(Files.isRegularFile(cache));

        // another command on the cpu device reads the cache: no probing, no note
        ProfileCommandTest.Result sim = run("simulate", "tiny-mlp", "--batch", "2", "--device", "cpu", "--json");
        assertEquals(0, sim.code(), sim.err());
        assertEquals("", sim.err());

        // a corrupt cache is reported in one line and measured again
        Files.writeString(cache, "{ broken");
        ProfileCommandTest.Result again = run("simulate", "tiny-mlp", "--batch", "2", "--device", "cpu", "--json");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("note: the cpu calibration in " + cache + " is unreadable ("), again.err());
        assertTrue(again.err().contains("); measuring again"), again.err());
        assertFalse(again.err().contains("Exception"), again.err());
        assertTrue(new ObjectMapper().readTree(Files.readString(cache)).has("model"));

        // --cached uses the cache as it is
        ProfileCommandTest.Result cached = run("calibrate", "--cached");
        assertEquals(0, cached.code(), cached.err());
        assertTrue(cached.out().contains("from the cache " + cache), cached.out());
        assertTrue(cached.out().contains("executor per step"), cached.out());
        assertTrue(cached.out().contains("conv fwd"), cached.out());
    }

    @Test
    void aBadModelListIsOneLine() {
        assertOneErrorLine(run("calibrate", "--cached", "--check", "--models", "no-such-model"),
                "--models: no sample model 'no-such-model'");
        assertOneErrorLine(run("calibrate", "--cached", "--check", "--models", "tiny-mlp:0"),
                "--models: batch of 'tiny-mlp:0' must be 1..4096");
        assertOneErrorLine(run("calibrate", "--cached", "--check", "--timeout", "0"),
                "--timeout must be at least 1 second, got 0");
    }
}

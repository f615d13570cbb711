package memplan.sim;

import memplan.io.ModelFormatException;
import memplan.plan.Plan;
import memplan.train.Schedule;
import memplan.train.Step;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class StepTimesTest {
    @Test
    void measuredTimesReplaceTheRooflineAndRoundTrip(@TempDir Path dir) throws Exception {
        Schedule s = SimulatorSmokeTest.chain(3);
        Map<String, Double> times = new LinkedHashMap<>();
        for (Step st : s.steps()) times.put(st.label(), 0.001); // 1 ms each
        Path f = dir.resolve("times.json");
        StepTimes.write(f, "chain", 1024, "test", times, java.util.List.of());
        Map<String, Double> back = StepTimes.read(f);
        assertEquals(times, back);
        DeviceModel dev = DeviceModel.preset("h100").withMeasured(back);
        SimResult r = Simulator.simulate(Plan.baseline(s), dev);
        assertEquals(0.001 * s.stepCount(), r.iterationSeconds(), 1e-9, "each step takes its measured time");
    }

    @Test
    void badFilesNameTheFieldAndReason(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{\"format\":\"memplan-step-times\",\"stepSeconds\":{\"conv1\":-1}}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> StepTimes.read(f));
        assertTrue(e.getMessage().contains("stepSeconds.conv1") && e.getMessage().contains("non-negative"), e.getMessage());
        Files.writeString(f, "{\"format\":\"other\"}");
        assertTrue(assertThrows(ModelFormatException.class, () -> StepTimes.read(f)).getMessage().contains("not a step-times file"));
        assertTrue(assertThrows(ModelFormatException.class, () -> StepTimes.read(dir.resolve("none.json"))).getMessage().contains("file not found"));
    }
}

package memplan.parallel;

import com.fasterxml.jackson.databind.JsonNode;
import memplan.framework.FidelityData;
import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MemPlan's per-rank prediction of data-parallel training against the per-rank peaks that
 * tools/pytorch/distributed.py measured in each process of PyTorch 1.13 jobs (gloo on loopback; DDP and
 * ZeroRedundancyOptimizer with Adam; resources fidelity/distributed-cpu.json; regenerate it, never edit it). The
 * models' ONNX graphs are fidelity.py's (weights replaced by a zero file of the recorded length).
 */
class DistributedFidelityTest {
    static final double TOLERANCE = 0.03;

    @TempDir
    static Path dir;

    static final Map<String, Schedule> SCHEDULES = new HashMap<>();

    static JsonNode data() throws IOException {
        return FidelityData.read("distributed-cpu.json");
    }

    @Test
    void theDataComesFromARunAtWorldSizesTwoAndFourForBothModes() throws IOException {
        JsonNode d = data();
        assertTrue(d.get("torch").asText().startsWith("1.13"), "PyTorch version: " + d.get("torch"));
        int ddp2 = 0, ddp4 = 0, zero2 = 0, zero4 = 0;
        for (JsonNode r : d.get("rows")) {
            assertTrue(r.get("command").asText().contains("tools/pytorch/distributed.py"), "row made by the harness");
            assertEquals(r.get("worldSize").asInt(), r.get("ranks").size(), "one measurement per rank");
            boolean ddp = r.get("mode").asText().equals("ddp");
            if (r.get("worldSize").asInt() == 2) { if (ddp) ddp2++; else zero2++; }
            if (r.get("worldSize").asInt() == 4) { if (ddp) ddp4++; else zero4++; }
        }
        assertTrue(ddp2 >= 3 && ddp4 >= 3 && zero2 >= 3 && zero4 >= 3,
                "rows: ddp " + ddp2 + "/" + ddp4 + ", zero1 " + zero2 + "/" + zero4);
    }

    @TestFactory
    List<DynamicTest> everyRankIsWithinThreePercent() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode r : data().get("rows")) {
            String name = r.get("model").asText() + " " + r.get("mode").asText() + " world " + r.get("worldSize");
            tests.add(DynamicTest.dynamicTest(name, () -> check(r, name)));
        }
        return tests;
    }

    /** The check can fail: without DDP's buckets (a single device's prediction) DDP's ranks are far above it. */
    @Test
    void aSingleDevicePredictionMissesDdp() throws IOException {
        for (JsonNode r : data().get("rows")) {
            if (!r.get("mode").asText().equals("ddp")) continue;
            ParallelProfile one = ParallelProfile.of(schedule(r), Layout.single());
            double ratio = (double) one.highest().peakBytes() / r.get("ranks").get(0).get("peakBytes").asLong();
            assertTrue(ratio < 1 - TOLERANCE, r.get("model") + ": single device / DDP rank = " + ratio);
        }
    }

    static Schedule schedule(JsonNode r) throws IOException {
        String onnxName = r.get("onnx").asText();
        Schedule cached = SCHEDULES.get(onnxName + r.get("batch"));
        if (cached != null) return cached;
        JsonNode fidelityRow = fidelityRow(onnxName);
        var model = FidelityData.onnxModel(onnxName, fidelityRow.get("externalDataBytes").asLong(), dir);
        Schedule s = TrainingGraph.derive(Graph.instantiate(model, r.get("batch").asInt(), DType.FP32),
                Optimizer.parse(r.get("optimizer").asText()), FrameworkProfile.PYTORCH_CPU);
        SCHEDULES.put(onnxName + r.get("batch"), s);
        return s;
    }

    /** The row of the single-device data for the same graph: it records the external data's length. */
    private static JsonNode fidelityRow(String onnx) throws IOException {
        for (JsonNode r : FidelityData.read("pytorch-cpu.json").get("rows"))
            if (onnx.equals(r.get("onnx").asText())) return r;
        throw new AssertionError("no single-device row for " + onnx);
    }

    private static void check(JsonNode r, String name) throws IOException {
        String mode = r.get("mode").asText();
        Layout l = Layout.parse(r.get("worldSize").asInt(), null, mode.equals("ddp") ? "none" : mode);
        ParallelProfile p = ParallelProfile.of(schedule(r), l);
        assertEquals(mode.equals("ddp") ? 1 : l.dp(), p.ranks().size(), "distinct ranks");
        for (JsonNode measured : r.get("ranks")) {
            int rank = measured.get("rank").asInt();
            RankMemory m = p.ranks().get(mode.equals("ddp") ? 0 : rank);
            String row = name + " rank " + rank;
            within(row, "peak", m.peakBytes(), measured.get("peakBytes").asLong());
            for (Phase ph : Phase.values()) {
                String k = ph.name().toLowerCase(Locale.ROOT);
                within(row, k + " peak", m.phasePeak(ph), measured.get("phasePeakBytes").get(k).asLong());
            }
        }
    }

    private static void within(String row, String what, long memplan, long pytorch) {
        FidelityData.within(row, what, memplan, pytorch, TOLERANCE);
    }
}

package memplan.export;

import com.fasterxml.jackson.databind.JsonNode;
import memplan.framework.FidelityData;
import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.parallel.Layout;
import memplan.parallel.ParallelProfile;
import memplan.parallel.RankPlans;
import memplan.plan.Plan;
import memplan.planner.Budget;
import memplan.planner.Planners;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
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
 * The generated module's wrap() in real DDP and ZeRO-1 training (tools/pytorch/distributed_export.py; resources
 * fidelity/distributed-export-cpu.json, regenerate it, never edit it): every rank's measured peak against MemPlan's
 * per-rank plan as exported, recomputed here the way the harness's commands make it (plan every rank, export each
 * rank's plan with the layout, apply the plan as expressed to the ranks).
 */
class DistributedExportFidelityTest {
    static final double TOLERANCE = 0.03;
    static final DeviceModel H100 = DeviceModel.preset("h100");

    @TempDir
    static Path dir;

    static final Map<String, Schedule> SCHEDULES = new HashMap<>();

    static JsonNode data() throws IOException {
        return FidelityData.read("distributed-export-cpu.json");
    }

    @Test
    void theDataHasDdpAndZeroOneWithAndWithoutAPlan() throws IOException {
        JsonNode d = data();
        assertTrue(d.get("torch").asText().startsWith("1.13"), "PyTorch version: " + d.get("torch"));
        int planned = 0, ddp = 0, zero1 = 0;
        for (JsonNode r : d.get("rows")) {
            assertTrue(r.get("command").asText().contains("tools/pytorch/distributed_export.py"), "made by it");
            assertEquals(r.get("worldSize").asInt(), r.get("ranks").size(), "one measurement per rank");
            if (!r.get("planner").asText().equals("baseline")) planned++;
            if (r.get("mode").asText().equals("ddp")) ddp++;
            else zero1++;
        }
        assertTrue(planned >= 2 && ddp >= 2 && zero1 >= 2, "planned " + planned + ", ddp " + ddp + ", zero1 " + zero1);
    }

    @TestFactory
    List<DynamicTest> everyRankIsWithinThreePercent() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode r : data().get("rows")) {
            String name = r.get("model").asText() + " " + r.get("mode").asText() + " world " + r.get("worldSize")
                    + " " + r.get("planner").asText();
            tests.add(DynamicTest.dynamicTest(name, () -> check(r, name)));
        }
        return tests;
    }

    private static void check(JsonNode r, String name) throws IOException {
        Schedule s = schedule(r);
        String mode = r.get("mode").asText();
        Layout l = Layout.parse(r.get("worldSize").asInt(), null, mode.equals("ddp") ? "none" : mode);
        String[] planner = r.get("planner").asText().split("@", 2);
        RankPlans plans;
        if (planner[0].equals("baseline")) plans = RankPlans.apply(s, l, Plan.baseline(s), H100);
        else {
            Budget b = Budget.parse(planner[1]);
            long budget = b.resolve(ParallelProfile.of(s, l).highest().peakBytes());
            plans = RankPlans.plan(s, l, Planners.named(planner[0]), budget, H100);
        }
        boolean anyDecision = false;
        for (JsonNode measured : r.get("ranks")) {
            int rank = measured.get("rank").asInt();
            RankPlans.RankPlan own = plans.ranks().get(plans.ranks().size() > 1 ? rank : 0);
            Plan expressed = PyTorchExporter.export(RankPlans.rebind(own.plan(), s, H100), l).expressed();
            anyDecision |= expressed.changedCount() > 0;
            RankPlans applied = RankPlans.apply(s, l, expressed, H100);
            SimResult sim = applied.ranks().get(applied.ranks().size() > 1 ? rank : 0).after();
            String row = name + " rank " + rank;
            FidelityData.within(row, "peak", sim.peakBytes(), measured.get("peakBytes").asLong(), TOLERANCE);
            long[] phases = sim.phasePeaks();
            for (Phase ph : List.of(Phase.FORWARD, Phase.BACKWARD, Phase.OPTIMIZER)) {
                String k = ph.name().toLowerCase(Locale.ROOT);
                FidelityData.within(row, k + " peak", phases[ph.ordinal()],
                        measured.get("phasePeakBytes").get(k).asLong(), TOLERANCE);
            }
        }
        if (!planner[0].equals("baseline")) assertTrue(anyDecision, name + ": the plan as exported decides nothing");
    }

    static Schedule schedule(JsonNode r) throws IOException {
        String onnxName = r.get("onnx").asText();
        Schedule cached = SCHEDULES.get(onnxName + r.get("batch"));
        if (cached != null) return cached;
        long data = -1;
        for (JsonNode f : FidelityData.read("pytorch-cpu.json").get("rows"))
            if (onnxName.equals(f.get("onnx").asText())) data = f.get("externalDataBytes").asLong();
        assertTrue(data >= 0, "no single-device row for " + onnxName);
        var model = FidelityData.onnxModel(onnxName, data, dir);
        Schedule s = TrainingGraph.derive(Graph.instantiate(model, r.get("batch").asInt(), DType.FP32),
                Optimizer.parse(r.get("optimizer").asText()), FrameworkProfile.PYTORCH_CPU);
        SCHEDULES.put(onnxName + r.get("batch"), s);
        return s;
    }
}

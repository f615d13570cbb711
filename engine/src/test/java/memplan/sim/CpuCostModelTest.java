package memplan.sim;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.Conv2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Flatten;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.ReLU;
import memplan.plan.Plan;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuCostModelTest {
    /** A fixed reference CPU: the figures are made up, so nothing here depends on this machine. */
    static final CpuCostModel REF = new CpuCostModel(20e-6, 2e-6, 4e9, 1e6, 5e9, 1e8, 20e9, 0.8, 0.5, 0.9);

    @Test
    void productThroughputFollowsTheLogCurveBetweenTheProbesAndIsFlatBeyond() {
        assertEquals(5e9, REF.gemmFlopsPerSecond(1e3), 1);
        assertEquals(5e9, REF.gemmFlopsPerSecond(1e6), 1);
        assertEquals(10e9, REF.gemmFlopsPerSecond(1e7), 1e-3 * 10e9); // halfway in log FLOPs: geometric mean
        assertEquals(20e9, REF.gemmFlopsPerSecond(1e8), 1);
        assertEquals(20e9, REF.gemmFlopsPerSecond(1e12), 1);
    }

    @Test
    void stepsCostTheFixedPartPlusTheLongerOfComputeAndMemory() {
        // forward product of 1e8 FLOPs: 5 ms of compute at 20 GFLOP/s beats 1 MB at 4 GB/s
        assertEquals(20e-6 + 1e8 / 20e9, REF.stepSeconds(new Linear(10, true), Phase.FORWARD, 100_000_000L,
                1_000_000), 1e-12);
        // a product that moves much memory and computes little is bound by bandwidth
        assertEquals(20e-6 + 4e8 / 4e9, REF.stepSeconds(new Linear(10, true), Phase.FORWARD, 1_000_000,
                400_000_000L), 1e-12);
        // backward: two products of half the FLOPs each, at the backward share
        assertEquals(20e-6 + 2e8 / (20e9 * 0.8), REF.stepSeconds(new Linear(10, true), Phase.BACKWARD,
                200_000_000L, 0), 1e-12);
        assertEquals(20e-6 + 2e8 / (20e9 * 0.5 * 0.9), REF.stepSeconds(Conv2d.of(8, 3, 1, 1, false),
                Phase.BACKWARD, 200_000_000L, 0), 1e-12);
        assertEquals(20e-6 + 8e6 / 4e9, REF.stepSeconds(new ReLU(), Phase.FORWARD, 1000, 8_000_000), 1e-12);
        // a view only pays the fixed cost, whatever bytes it names
        assertEquals(20e-6, REF.stepSeconds(new Flatten(1), Phase.FORWARD, 0, 1L << 30), 0);
        // an optimizer update (no op) is memory-bound, with its own fixed cost
        assertEquals(2e-6 + 1e6 / 4e9, REF.stepSeconds(null, Phase.OPTIMIZER, 100, 1_000_000), 1e-12);
    }

    @Test
    void opsFallIntoTheirClasses() {
        assertEquals(OpCostClass.CONV, OpCostClass.of(Conv2d.of(8, 3, 1, 1, false)));
        assertEquals(OpCostClass.GEMM, OpCostClass.of(new Linear(8, false)));
        assertEquals(OpCostClass.MEMORY, OpCostClass.of(new ReLU()));
        assertEquals(OpCostClass.VIEW, OpCostClass.of(new Flatten(1)));
    }

    @Test
    void rejectsFiguresThatCannotBeRight() {
        assertThrows(IllegalArgumentException.class,
                () -> new CpuCostModel(-1, 2e-6, 4e9, 1e6, 5e9, 1e8, 20e9, 1, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> new CpuCostModel(0, -2e-6, 4e9, 1e6, 5e9, 1e8, 20e9, 1, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> new CpuCostModel(0, 2e-6, 0, 1e6, 5e9, 1e8, 20e9, 1, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> new CpuCostModel(0, 2e-6, 4e9, 1e8, 5e9, 1e6, 20e9, 1, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> new CpuCostModel(0, 2e-6, 4e9, 1e6, 5e9, 1e8, Double.NaN, 1, 1, 1));
    }

    static Schedule convNet() {
        ModelDef.Builder b = ModelDef.builder("convnet");
        String x = b.add("x", new Input(List.of("N", "3", "16", "16"), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        x = b.add("conv", Conv2d.of(8, 3, 1, 1, false), x);
        x = b.add("relu", new ReLU(), x);
        x = b.add("flat", new Flatten(1), x);
        x = b.add("fc", new Linear(10, true), x);
        b.add("loss", new CrossEntropy(1), x, y);
        return TrainingGraph.derive(Graph.instantiate(b.build(), 4, DType.FP32), Optimizer.SGD);
    }

    @Test
    void theSimulatorPredictsEachStepByItsOpClassOnACalibratedCpu() {
        Schedule s = convNet();
        DeviceModel cpu = DeviceModel.calibratedCpu(REF);
        double sum = 0;
        for (Step st : s.steps()) {
            double expected = REF.stepSeconds(st.node() >= 0 ? s.graph().nodes().get(st.node()).op() : null,
                    st.phase(), st.flops(), st.bytesAccessed());
            assertEquals(expected, cpu.stepSeconds(s, st), 0);
            sum += expected;
        }
        SimResult r = Simulator.simulate(Plan.baseline(s), cpu);
        assertEquals(sum, r.iterationSeconds(), 1e-12);
        // the roofline preset predicts something else for the same schedule
        assertTrue(Math.abs(Simulator.simulate(Plan.baseline(s), DeviceModel.preset("cpu")).iterationSeconds()
                - sum) > 1e-6);
        // measured step times still win over the calibration
        Step conv = s.step(s.forwardStep(s.graph().nodes().stream().filter(n -> n.name().equals("conv"))
                .findFirst().orElseThrow().index()));
        assertEquals(0.5, cpu.withMeasured(Map.of(conv.label(), 0.5)).stepSeconds(s, conv), 0);
        assertEquals(cpu.cpuCosts(), cpu.withCapacity(1L << 20).withLink("pcie4").cpuCosts());
    }
}

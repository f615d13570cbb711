package memplan.exec;

import memplan.backend.Codec;
import memplan.backend.DeviceOutOfMemoryException;
import memplan.backend.cpu.CpuBackend;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.ops.ReLU;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.plan.TensorUses;
import memplan.planner.Planner;
import memplan.planner.RecomputeOptimalPlanner;
import memplan.planner.SolverLimits;
import memplan.samples.SampleModels;
import memplan.sim.DeviceModel;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Hand-made plans of each technique run for real on the CPU backend: lossless ones must not change the weights. */
class ExecutorLosslessTest {
    static final DeviceModel DEV = DeviceModel.preset("cpu");
    static final long GIB = 1L << 30;

    static Schedule schedule(String model) {
        return memplan.train.TrainingGraph.derive(Graph.instantiate(SampleModels.load(model), 8, DType.FP32), Optimizer.ADAM);
    }

    static RunResult run(Plan p) {
        try (CpuBackend b = new CpuBackend(GIB)) {
            RunResult r = new Executor(p, DEV).run(b, new RunConfig(3, 0.01, 7), ProgressListener.NONE, () -> false);
            for (IterationResult it : r.iterations()) assertEquals(it.predictedPeakBytes(), it.measuredPeakBytes(), "measured peak = predicted");
            return r;
        }
    }

    /** Applies a decision to every tensor where it validates on its own. */
    static Plan everywhere(Schedule s, java.util.function.IntFunction<Decision> d) {
        Plan p = Plan.baseline(s);
        TensorUses u = TensorUses.of(s);
        for (TensorInfo t : s.tensors()) {
            Decision dec = d.apply(t.id());
            if (dec == null) continue;
            Plan q = p.with(t.id(), dec);
            if (PlanValidator.problems(q, u).isEmpty()) p = q;
        }
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama"})
    void losslessTechniquesKeepWeightsBitIdentical(String model) {
        Schedule s = schedule(model);
        RunResult base = run(Plan.baseline(s));
        Plan swap = everywhere(s, t -> Decision.Swap.auto());
        Plan rec = everywhere(s, t -> Decision.RECOMPUTE);
        Plan mask = everywhere(s, t -> new Decision.Compress(Codec.MASK_1BIT, 0, false));
        Plan sparse = everywhere(s, t -> new Decision.Compress(Codec.SPARSE, 1.0, true));
        for (Plan p : new Plan[]{swap, rec, mask, sparse}) {
            RunResult r = run(p);
            assertEquals(base.weightsSha256(), r.weightsSha256(), model + " with " + p.changedCount() + " changed tensors");
        }
        assertTrue(swap.changedCount() > 0 && rec.changedCount() > 0);
    }

    /**
     * A network whose 3x3 convolutions the CPU backend runs by Winograd's algorithm (unet-small: 32-128 channels at
     * 64x64 down to 16x16): swapped and recomputed plans still end with the baseline's weights bit for bit.
     */
    @Test
    void winogradConvolutionsKeepLosslessPlansBitIdentical() {
        Schedule s = memplan.train.TrainingGraph.derive(Graph.instantiate(SampleModels.load("unet-small"), 2,
                DType.FP32), Optimizer.ADAM);
        long winograd = s.graph().nodes().stream().filter(n -> n.op() instanceof memplan.ops.Conv2d c
                && memplan.backend.cpu.WinogradConv.runs(c, n.inShapes().get(0), n.outShapes().get(0))).count();
        assertTrue(winograd >= 4, "convolutions run by Winograd: " + winograd);
        RunResult base = run(Plan.baseline(s));
        for (Plan p : new Plan[]{everywhere(s, t -> Decision.Swap.auto()), everywhere(s, t -> Decision.RECOMPUTE)}) {
            assertTrue(p.changedCount() > 0);
            assertEquals(base.weightsSha256(), run(p).weightsSha256(), "unet-small with " + p.changedCount()
                    + " changed tensors");
        }
    }

    /**
     * Tensors rebuilt before every backward step that reads them (freed and rebuilt again in between), and the
     * CP-SAT planner's least-peak plan, run for real: same weights as the baseline, measured peak = predicted.
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama"})
    void repeatedRebuildsAndSolverPlansKeepWeightsBitIdentical(String model) {
        Schedule s = schedule(model);
        RunResult base = run(Plan.baseline(s));
        TensorUses u = TensorUses.of(s);
        Plan again = everywhere(s, t -> {
            java.util.List<Integer> bw = new java.util.ArrayList<>();
            for (int st : u.uses(t)) if (s.step(st).phase() == memplan.train.Phase.BACKWARD) bw.add(st);
            return bw.isEmpty() ? null : new Decision.Recompute(bw);
        });
        boolean twice = false;
        for (Decision d : again.decisions()) twice |= d instanceof Decision.Recompute r && r.at().size() >= 2;
        assertTrue(twice, model + ": some tensor is rebuilt twice");
        assertEquals(base.weightsSha256(), run(again).weightsSha256(), model + " rebuilt before every backward read");
        RecomputeOptimalPlanner opt = new RecomputeOptimalPlanner(SolverLimits.DEFAULT.withTimeLimit(2), null);
        Plan solved = opt.plan(s, Planner.MIN_PEAK, DEV);
        long basePeak = memplan.sim.Simulator.simulate(Plan.baseline(s), DEV).peakBytes();
        // Where recomputing lowers the peak at all, the least-peak plan recomputes something.
        if (memplan.sim.Simulator.simulate(solved, DEV).peakBytes() < basePeak) assertTrue(solved.changedCount() > 0, model);
        else assertTrue(solved.changedCount() == 0 || model.equals("tiny-mlp"), model);
        assertEquals(base.weightsSha256(), run(solved).weightsSha256(), model + " with the solver's plan");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama"})
    void theLossFallsOnTheSyntheticData(String model) {
        try (CpuBackend b = new CpuBackend(GIB)) {
            RunResult r = new Executor(Plan.baseline(schedule(model)), DEV).run(b, new RunConfig(2 * SyntheticData.BATCHES + 1, 0.01, 7),
                    ProgressListener.NONE, () -> false);
            float first = r.iterations().get(0).loss(), later = r.iterations().get(2 * SyntheticData.BATCHES).loss();
            assertTrue(later < first, model + ": loss on the first batch went from " + first + " to " + later);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama"})
    void inPlaceOpsAndGradientsKeepResults(String model) {
        Schedule s = schedule(model);
        Plan p = Plan.baseline(s);
        Graph g = s.graph();
        int forward = 0, backward = 0;
        for (Node n : g.nodes()) {
            if (!n.op().mayRunInPlace()) continue;
            int out = s.tensorOfValue(n.outputs()[0]), in = s.tensorOfValue(n.inputs()[0]);
            Plan q = p.with(out, new Decision.Share(in));
            if (PlanValidator.problems(q).isEmpty()) {
                p = q;
                forward++;
            }
            int gIn = s.gradOfValue(g.storageOf(n.inputs()[0])), gOut = s.gradOfValue(g.storageOf(n.outputs()[0]));
            if (gIn < 0 || gOut < 0) continue;
            q = p.with(gIn, new Decision.Share(gOut));
            if (PlanValidator.problems(q).isEmpty()) {
                p = q;
                backward++;
            }
        }
        assertTrue(forward + backward > 0, model + ": some op can run in place");
        assertEquals(run(Plan.baseline(s)).weightsSha256(), run(p).weightsSha256(), forward + " forward, " + backward + " backward in place");
    }

    @Test
    void outOfMemoryIsReportedAndTheNextRunWorks() {
        Schedule s = schedule("tiny-cnn");
        try (CpuBackend small = new CpuBackend(64 * 1024)) {
            DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                    () -> new Executor(Plan.baseline(s), DEV).run(small, RunConfig.of(1), ProgressListener.NONE, () -> false));
            assertTrue(e.getMessage().contains("out of device memory"), e.getMessage());
        }
        assertFalse(run(Plan.baseline(s)).weightsSha256().isEmpty());
    }
}

package memplan.exec;

import memplan.backend.cpu.CpuBackend;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.plan.Plan;
import memplan.planner.InfeasibleBudgetException;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.planner.SolverLimits;
import memplan.samples.SampleModels;
import memplan.sim.DeviceModel;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every planner's plans, run for real on the CPU backend for the tiny models: lossless planners leave the weights
 * bit-identical to the baseline after 3 iterations, measured peak equals predicted peak in every iteration, and
 * lossy fp16 compression stays within a stated tolerance and says it is lossy.
 */
class PlannersRunTest {
    static final DeviceModel DEV = DeviceModel.preset("cpu");
    /**
     * fp16 storage of activations over 3 SGD steps at lr 0.01: the weights end within this of the baseline's
     * (measured: at most 3.6e-6 on the tiny models, so this bound has a 25x margin and still catches a wrong codec).
     */
    static final double FP16_WEIGHT_TOLERANCE = 1e-4;

    static RunResult run(Plan p) {
        try (CpuBackend b = new CpuBackend(1L << 30)) {
            RunResult r = new Executor(p, DEV).run(b, new RunConfig(3, 0.01, 11, true), ProgressListener.NONE, () -> false);
            for (IterationResult it : r.iterations())
                assertEquals(it.predictedPeakBytes(), it.measuredPeakBytes(), p.planner() + ": measured peak = predicted peak");
            return r;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama"})
    void everyPlannerRunsAndLosslessOnesKeepWeightsBitIdentical(String model) {
        Schedule s = TrainingGraph.derive(Graph.instantiate(SampleModels.load(model), 8, DType.FP32), Optimizer.SGD);
        RunResult base = run(Plan.baseline(s));
        long basePeak = Simulator.simulate(Plan.baseline(s), DEV).peakBytes();
        List<String> changed = new ArrayList<>();
        for (String name : Planners.names()) {
            Planner planner = Planners.named(name, SolverLimits.DEFAULT.withTimeLimit(2));
            // The lowest peak the planner reaches, and a plan under a looser budget: both must run.
            for (long budget : new long[]{Planner.MIN_PEAK, (long) (basePeak * 0.85)}) {
                Plan p;
                try {
                    p = planner.plan(s, budget, DEV);
                } catch (InfeasibleBudgetException e) {
                    continue;
                }
                RunResult r = run(p);
                if (p.changedCount() > 0) changed.add(name);
                if (planner.lossless()) {
                    assertFalse(r.lossy(), name);
                    assertEquals(base.weightsSha256(), r.weightsSha256(), model + " under " + name + " (" + p.changedCount() + " decisions)");
                } else {
                    assertNotEquals(0, p.changedCount(), name + " changes something");
                    assertTrue(r.lossy(), name + " reports its run as lossy");
                    double maxDiff = 0;
                    for (int k = 0; k < base.finalWeights().size(); k++) {
                        float[] a = base.finalWeights().get(k), b = r.finalWeights().get(k);
                        for (int i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
                    }
                    assertTrue(maxDiff <= FP16_WEIGHT_TOLERANCE, model + " under " + name + ": max weight difference " + maxDiff);
                }
            }
        }
        assertTrue(changed.size() >= 3, model + ": planners that changed something: " + changed);
    }
}

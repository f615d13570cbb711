package memplan.planner;

import memplan.plan.Plan;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class CheckpointSqrtPlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "checkpoint-sqrt";
    }

    /** Peak minus what every plan holds anyway (weights, their gradients and optimizer state, the data). */
    static long activationPeak(Schedule s, Plan p) {
        long fixed = 0;
        for (TensorInfo t : s.tensors())
            if (t.kind().persistent() || t.kind() == TensorKind.PARAM_GRAD || t.kind() == TensorKind.DATA) fixed += t.bytes();
        return Simulator.simulate(p, Zoo.H100).peakBytes() - fixed;
    }

    @Test
    void peakGrowsLikeTheSquareRootOfDepth() {
        int[] n = {16, 64, 256};
        double[] act = new double[n.length], base = new double[n.length];
        for (int i = 0; i < n.length; i++) {
            Schedule s = Zoo.chain(n[i], 64, 2048);
            act[i] = activationPeak(s, planner().plan(s, Planner.MIN_PEAK, Zoo.H100));
            base[i] = activationPeak(s, Plan.baseline(s));
        }
        for (int i = 1; i < n.length; i++) {
            double ratio = act[i] / act[i - 1]; // 4x the layers: sqrt(4) = 2
            assertTrue(ratio > 1.5 && ratio < 2.7, "checkpointed peak ratio " + ratio + " for N " + n[i - 1] + " -> " + n[i]);
            double baseRatio = base[i] / base[i - 1];
            assertTrue(baseRatio > 3.5, "baseline grows linearly: " + baseRatio);
        }
        // Least-squares slope of log(peak) against log(N): 0.5 for sqrt growth.
        double mx = 0, my = 0;
        for (int i = 0; i < n.length; i++) {
            mx += Math.log(n[i]) / n.length;
            my += Math.log(act[i]) / n.length;
        }
        double sxy = 0, sxx = 0;
        for (int i = 0; i < n.length; i++) {
            sxy += (Math.log(n[i]) - mx) * (Math.log(act[i]) - my);
            sxx += (Math.log(n[i]) - mx) * (Math.log(n[i]) - mx);
        }
        double slope = sxy / sxx;
        assertEquals(0.5, slope, 0.15, "log-log slope");
    }
}

package memplan.planner;

import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

class RecomputeGreedyPlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "recompute-greedy";
    }

    /** All valid keep/recompute assignments of the candidates: {peak, iteration seconds}. */
    static List<double[]> exhaustive(Schedule s) {
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        List<Integer> cand = RecomputeGreedyPlanner.candidates(ctx, Plan.baseline(s));
        assertTrue(cand.size() <= RecomputeGreedyPlanner.EXACT_LIMIT, "small graph: " + cand.size());
        List<double[]> out = new ArrayList<>();
        for (int m = 0; m < 1 << cand.size(); m++) {
            Plan p = Plan.baseline(s);
            for (int i = 0; i < cand.size(); i++) if ((m >> i & 1) != 0) p = p.with(cand.get(i), Decision.RECOMPUTE);
            if (!PlanValidator.problems(p).isEmpty()) continue;
            SimResult r = Simulator.simulate(p, Zoo.H100);
            out.add(new double[]{r.peakBytes(), r.overhead()});
        }
        return out;
    }

    @Test
    void matchesExhaustiveSearchOnSmallGraphs() {
        for (Schedule s : List.of(Zoo.chain(3, 64, 512), Zoo.chain(5, 32, 1024), Zoo.schedule("tiny-mlp", 64))) {
            List<double[]> all = exhaustive(s);
            TreeSet<Long> peaks = new TreeSet<>();
            for (double[] a : all) peaks.add((long) a[0]);
            assertTrue(peaks.size() >= 2, "the search space has different peaks");
            for (long budget : peaks) {
                double best = Double.MAX_VALUE;
                for (double[] a : all) if (a[0] <= budget) best = Math.min(best, a[1]);
                Plan p = planner().plan(s, budget, Zoo.H100);
                SimResult r = Simulator.simulate(p, Zoo.H100);
                assertTrue(r.peakBytes() <= budget);
                assertEquals(best, r.overhead(), 1e-9, s.graph().model().name() + " at budget " + budget);
            }
            long below = peaks.first() - 1;
            InfeasibleBudgetException e = assertThrows(InfeasibleBudgetException.class, () -> planner().plan(s, below, Zoo.H100));
            assertEquals(peaks.first(), e.leastPeakBytes());
        }
    }

    @Test
    void neverSlowerThanCheckpointSqrtOnAnyZooModel() {
        for (String m : Zoo.ALL) {
            Schedule s = Zoo.schedule(m, 2);
            Plan sqrt = Planners.named("checkpoint-sqrt").plan(s, Planner.MIN_PEAK, Zoo.H100);
            SimResult sr = Simulator.simulate(sqrt, Zoo.H100);
            Plan opt = planner().plan(s, sr.peakBytes(), Zoo.H100);
            SimResult or = Simulator.simulate(opt, Zoo.H100);
            assertTrue(or.peakBytes() <= sr.peakBytes(), m);
            assertTrue(or.overhead() <= sr.overhead() + 1e-12, m + ": " + or.overhead() + " > sqrt " + sr.overhead());
        }
    }
}

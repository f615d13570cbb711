package memplan.planner;

import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

class RecomputeOptimalPlannerTest extends PlannerContractTest {
    static final SolverLimits FAST = SolverLimits.DEFAULT.withTimeLimit(5);

    @Override
    String plannerName() {
        return "recompute-optimal";
    }

    @Override
    Planner planner() {
        return new RecomputeOptimalPlanner(FAST, null);
    }

    /**
     * The exhaustive search over every keep/recompute assignment (each tensor rebuilt once and kept, the old exact
     * planner's space) is an upper bound the solver must meet; its space is a subset of the solver's.
     */
    @Test
    void atLeastAsGoodAsTheExhaustiveSearchOnSmallGraphs() {
        for (Schedule s : List.of(Zoo.chain(3, 64, 512), Zoo.chain(5, 32, 1024), Zoo.schedule("tiny-mlp", 64))) {
            List<double[]> all = RecomputeGreedyPlannerTest.exhaustive(s);
            TreeSet<Long> peaks = new TreeSet<>();
            for (double[] a : all) peaks.add((long) a[0]);
            for (long budget : peaks) {
                double best = Double.MAX_VALUE;
                for (double[] a : all) if (a[0] <= budget) best = Math.min(best, a[1]);
                RecomputeOptimalPlanner opt = new RecomputeOptimalPlanner(FAST, null);
                Plan p = opt.plan(s, budget, Zoo.H100);
                SimResult r = Simulator.simulate(p, Zoo.H100);
                assertTrue(r.peakBytes() <= budget);
                System.out.println(s.graph().model().name() + " " + budget + " exh " + best + " opt " + r.overhead() + " " + opt.report());
                assertTrue(r.overhead() <= best + 1e-9, s.graph().model().name() + " at budget " + budget);
            }
        }
    }
}

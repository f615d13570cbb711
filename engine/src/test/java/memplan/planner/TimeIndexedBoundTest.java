package memplan.planner;

import com.google.ortools.sat.CpSolverStatus;
import memplan.plan.Plan;
import memplan.sim.SimResult;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/** The time-indexed LP bound of the rematerialisation model: valid, and raised by the input-availability rows. */
class TimeIndexedBoundTest {
    private static final double PICO = 1e12;

    /**
     * On the graphs where the exhaustive search is the oracle of recompute-optimal, the LP never proves more than
     * the least added time, proves something where a budget forces re-runs, and with it as a constraint on the
     * cost the solver still finds that least time, proven optimal.
     */
    @Test
    void neverAboveTheExhaustiveOptimum() {
        int positive = 0;
        for (Schedule s : List.of(Zoo.chain(3, 64, 512), Zoo.chain(5, 32, 1024), Zoo.schedule("tiny-mlp", 64))) {
            String name = s.graph().model().name();
            PlanContext ctx = new PlanContext(s, Zoo.H100);
            List<double[]> all = RecomputeGreedyPlannerTest.exhaustive(s);
            TreeSet<Long> peaks = new TreeSet<>();
            for (double[] a : all) peaks.add((long) a[0]);
            for (long budget : peaks) {
                double best = Double.MAX_VALUE;
                for (double[] a : all) if (a[0] <= budget) best = Math.min(best, a[1]);
                best *= ctx.baselineSeconds(); // overhead: a fraction of the baseline's time
                RematModel m = new RematModel(ctx, Plan.baseline(s), 2);
                m.allowTimeIndexedBound();
                m.build(budget, 0);
                m.minimizeCost();
                TimeIndexedBound.Result r = m.lpBound();
                assertNotNull(r, name);
                double bound = r.bound() / PICO;
                assertTrue(bound <= best * (1 + 1e-9) + 1e-15, name + " at " + budget + ": " + bound + " > " + best);
                if (bound > 0) positive++;
                RematModel.Outcome out = m.solve(60, 0, SolveControl.none());
                assertEquals(CpSolverStatus.OPTIMAL, out.status(), name + " at " + budget);
                assertEquals(best, out.objective(), 1e-9 + 1e-6 * best, name + " at " + budget);
            }
        }
        assertTrue(positive > 0, "the LP proves a positive bound somewhere");
    }

    /**
     * On ResNet-18 the rows that tie a freed copy to its producer's inputs raise the LP's bound (without them the
     * LP spreads a re-run thinly over many stages), and neither bound passes the greedy plan's added time; fixed
     * to the greedy's hint, the model with the bound as a constraint is still solved at that time.
     */
    @Test
    void inputRowsRaiseTheBoundAndKeepTheHint() {
        Schedule s = Zoo.schedule("resnet18", 8);
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        long budget = ctx.baseline().peakBytes() * 3 / 4;
        Plan greedy = new RecomputeGreedyPlanner().improve(Plan.baseline(s), budget, ctx);
        SimResult g = ctx.simulate(greedy);
        budget = Math.max(budget, g.peakBytes());
        double greedyAdded = g.iterationSeconds() - ctx.baselineSeconds();
        RematModel m = new RematModel(ctx, Plan.baseline(s), 2);
        m.allowTimeIndexedBound();
        m.build(budget, 0);
        m.minimizeCost();
        TimeIndexedBound.Result with = m.lpBound();
        TimeIndexedBound.Result without = m.timeIndexedBound(budget, Deadline.after(60), false);
        assertEquals("OPTIMAL", with.status());
        assertEquals("OPTIMAL", without.status());
        assertTrue(with.bound() > without.bound() * 1.05, with.bound() + " vs " + without.bound());
        assertTrue(with.bound() / PICO <= greedyAdded * (1 + 1e-9), with.bound() / PICO + " > " + greedyAdded);
        assertTrue(m.hint(greedy));
        RematModel.Outcome out = m.solveFixedToHint(60);
        assertEquals(CpSolverStatus.OPTIMAL, out.status());
        assertEquals(greedyAdded, out.objective(), 1e-9 + 1e-6 * greedyAdded);
    }
}

package memplan.planner;

import memplan.plan.Plan;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** Progress and stop of a solver-based planner, as the app uses them: a stopped search keeps its best plan. */
class SolveControlTest {
    /** A chain long enough that the solver does not prove its plan optimal at once, at a quarter of its peak. */
    private static Schedule chain() {
        return Zoo.chain(40, 4, 4096);
    }

    private static long budget(Schedule s) {
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        return ctx.baseline().peakBytes() / 2;
    }

    @Test
    void aStopBeforeTheSearchStillReturnsAFittingPlan() {
        Schedule s = chain();
        long budget = budget(s);
        SolveControl control = new SolveControl(null, () -> true);
        RecomputeOptimalPlanner p = new RecomputeOptimalPlanner(SolverLimits.DEFAULT.withTimeLimit(60), control);
        Plan plan = p.plan(s, budget, Zoo.H100);
        SimResult r = Simulator.simulate(plan, Zoo.H100);
        assertTrue(r.peakBytes() <= budget);
        assertTrue(p.report().note().contains("stopped"), p.report().toString());
        assertTrue(p.report().wallSeconds() < 30, "stopped before the search: " + p.report());
    }

    @Test
    void progressIsReportedAndAStopOnTheFirstIncumbentKeepsIt() {
        Schedule s = chain();
        long budget = budget(s);
        List<double[]> seen = new ArrayList<>();
        AtomicReference<SolveReport> last = new AtomicReference<>();
        AtomicReference<SolveControl> self = new AtomicReference<>();
        SolveControl control = new SolveControl(new SolveControl.Listener() {
            @Override
            public void improved(double incumbent, double bound, double wall) {
                synchronized (seen) {
                    seen.add(new double[]{incumbent, bound});
                }
                if (!Double.isNaN(incumbent)) self.get().stop();
            }

            @Override
            public void finished(SolveReport report) {
                last.set(report);
            }
        }, null);
        self.set(control);
        RecomputeOptimalPlanner p = new RecomputeOptimalPlanner(
                SolverLimits.DEFAULT.withTimeLimit(120).withGapTarget(0).withMaxRebuilds(3), control);
        Plan plan = p.plan(s, budget, Zoo.H100);
        assertTrue(Simulator.simulate(plan, Zoo.H100).peakBytes() <= budget);
        assertFalse(seen.isEmpty(), "the listener heard of the search");
        for (double[] x : seen) if (!Double.isNaN(x[0])) assertTrue(x[1] <= x[0] * (1 + 1e-9), "bound <= incumbent");
        assertSame(p.report(), last.get(), "finished() gets the planner's report");
        assertTrue(p.report().optimal() || p.report().note().contains("stopped"), p.report().toString());
        assertTrue(p.report().wallSeconds() < 120, p.report().toString());
    }

    @Test
    void solverBasedNamesAreKnown() {
        assertTrue(Planners.solverBased("recompute-optimal"));
        assertTrue(Planners.solverBased("share+recompute-optimal"));
        assertFalse(Planners.solverBased("recompute-greedy"));
        assertFalse(Planners.solverBased(null));
    }
}

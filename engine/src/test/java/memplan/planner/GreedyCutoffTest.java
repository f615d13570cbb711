package memplan.planner;

import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The greedy planners as a solver planner's warm start, under its deadline ({@link Cutoff}): past it they stop once
 * they hold a plan within the budget, never before; with time to spare they plan exactly as on their own. The
 * deadlines here have passed before planning begins or lie an hour away, so nothing depends on the clock.
 */
class GreedyCutoffTest {
    private static Cutoff passed() {
        return Cutoff.at(new Deadline(System.nanoTime(), 0));
    }

    private static Cutoff anHourAway() {
        return Cutoff.at(Deadline.after(3600));
    }

    @Test
    void pastTheDeadlineTheGreedyPlannersStopWithAFittingPlan() {
        Schedule s = Zoo.chain(400, 4, 4096);
        long budget = Zoo.baselinePeak(s) / 2;
        PlanContext full = new PlanContext(s, Zoo.H100), cut = new PlanContext(s, Zoo.H100);
        Plan whole = new RecomputeGreedyPlanner().improve(Plan.baseline(s), budget, full);
        Cutoff c = passed();
        Plan early = new RecomputeGreedyPlanner().improve(Plan.baseline(s), budget, cut, c);
        assertTrue(PlanValidator.problems(early, cut.uses).isEmpty());
        assertTrue(cut.score(early).peakBytes() <= budget);
        assertTrue(c.cut()); // at the first check after a fitting plan was in hand
        assertTrue(cut.simulations() < full.simulations() / 4, cut.simulations() + " vs " + full.simulations());
        // The full planner's plan is at least as fast: it had every candidate the cut one had and more.
        assertTrue(full.score(whole).iterationSeconds() <= cut.score(early).iterationSeconds() + 1e-15);

        PlanContext hybridCut = new PlanContext(s, Zoo.H100), hybridFull = new PlanContext(s, Zoo.H100);
        new HybridGreedyPlanner().improve(Plan.baseline(s), budget, hybridFull);
        Cutoff hc = passed();
        Plan hybrid = new HybridGreedyPlanner().improve(Plan.baseline(s), budget, hybridCut, hc, null);
        assertTrue(PlanValidator.problems(hybrid, hybridCut.uses).isEmpty());
        assertTrue(hybridCut.score(hybrid).peakBytes() <= budget);
        assertTrue(hc.cut());
        assertTrue(hybridCut.simulations() < hybridFull.simulations() / 2,
                hybridCut.simulations() + " vs " + hybridFull.simulations());
    }

    @Test
    void withoutABudgetAPassedDeadlineStillGivesAValidPlanNoHigherThanTheBaseline() {
        Schedule s = Zoo.chain(200, 4, 4096);
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        Cutoff c = passed();
        Plan p = new RecomputeGreedyPlanner().improve(Plan.baseline(s), Planner.MIN_PEAK, ctx, c);
        assertTrue(PlanValidator.problems(p, ctx.uses).isEmpty());
        assertTrue(ctx.score(p).peakBytes() <= ctx.baseline().peakBytes());
        assertTrue(c.cut());
    }

    @Test
    void withoutAFittingPlanTheDeadlineDoesNotStopThem() {
        Schedule s = Zoo.chain(60, 4, 4096);
        long budget = Zoo.baselinePeak(s) / 20; // below what recompute reaches on this chain
        PlanContext a = new PlanContext(s, Zoo.H100), b = new PlanContext(s, Zoo.H100);
        Plan whole = new RecomputeGreedyPlanner().improve(Plan.baseline(s), budget, a);
        assertTrue(a.score(whole).peakBytes() > budget, "the budget must be out of reach for this test");
        Cutoff c = passed();
        Plan early = new RecomputeGreedyPlanner().improve(Plan.baseline(s), budget, b, c);
        assertEquals(whole, early);
        assertFalse(c.cut(), c.phase());
        // So the solver planner says what it says without a limit: nothing fits, and the least peak reached.
        SolverLimits tiny = SolverLimits.DEFAULT.withTimeLimit(1e-3);
        InfeasibleBudgetException greedy = assertThrows(InfeasibleBudgetException.class,
                () -> new RecomputeGreedyPlanner().plan(s, budget, Zoo.H100));
        InfeasibleBudgetException solver = assertThrows(InfeasibleBudgetException.class,
                () -> new RecomputeOptimalPlanner(tiny, null).plan(s, budget, Zoo.H100));
        assertEquals(greedy.leastPeakBytes(), solver.leastPeakBytes());
    }

    /** With time to spare the cut-off never acts: the same plans as the planners on their own. */
    @Test
    void withTimeToSpareThePlansAreThoseOfTheGreedyPlannersOnTheirOwn() {
        for (Schedule s : List.of(Zoo.chain(300, 4, 4096), Zoo.schedule("tiny-cnn", 8),
                Zoo.schedule("tiny-transformer", 8), Zoo.schedule("resnet18", 8))) {
            String name = s.graph().model().name();
            for (double share : new double[]{0.8, 0.6}) {
                long budget = (long) (Zoo.baselinePeak(s) * share);
                PlanContext ctx = new PlanContext(s, Zoo.H100);
                Plan start = Plan.baseline(s);
                Cutoff c = anHourAway();
                Plan rec = new RecomputeGreedyPlanner().improve(start, budget, ctx);
                assertEquals(rec, new RecomputeGreedyPlanner().improve(start, budget, ctx, c), name);
                Plan hybrid = new HybridGreedyPlanner().improve(start, budget, ctx);
                assertEquals(hybrid, new HybridGreedyPlanner().improve(start, budget, ctx, c, null), name);
                assertEquals(hybrid, new HybridGreedyPlanner().improve(start, budget, ctx, c, rec),
                        name + ": given the recompute plan");
                assertFalse(c.cut(), c.phase());
            }
        }
    }
}

package memplan.planner;

import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The solver-based planners within their time limit: when it passes before the search (here in the greedy warm start
 * already), they still return the greedy's fitting plan and say why; and the warm start the search begins from is a
 * complete solution of the model, so CP-SAT has an incumbent as soon as it starts. Nothing here is timed.
 */
class SolverTimeLimitTest {
    /** A tiny limit on a 600-op chain: no solution in time, the greedy's plan, valid and within the budget. */
    @Test
    void aLimitPassedBeforeTheSearchReturnsTheGreedysFittingPlan() {
        Schedule s = Zoo.chain(300, 4, 4096);
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        long budget = ctx.baseline().peakBytes() / 3;
        SolverLimits tiny = SolverLimits.DEFAULT.withTimeLimit(1e-3);
        assertTrue(Simulator.simulate(new RecomputeGreedyPlanner().plan(s, budget, Zoo.H100), Zoo.H100).overhead() > 0);
        for (SolverPlanner p : List.of(new RecomputeOptimalPlanner(tiny, null), new HybridOptimalPlanner(tiny, null))) {
            Plan plan = p.plan(s, budget, Zoo.H100);
            assertTrue(PlanValidator.problems(plan).isEmpty(), () -> PlanValidator.problems(plan).toString());
            SimResult r = Simulator.simulate(plan, Zoo.H100);
            assertTrue(r.peakBytes() <= budget, p.name());
            SolveReport rep = p.report();
            assertEquals("greedy", rep.source(), rep.toString());
            assertEquals(r.iterationSeconds() - ctx.baselineSeconds(), rep.simulatedSeconds(), 1e-12);
            if (rep.simulatedSeconds() > 0) {
                assertEquals("UNKNOWN", rep.status(), rep.toString());
                assertTrue(rep.note().startsWith("no solution in time: the limit passed in the greedy warm start"),
                        rep.toString());
                assertEquals(1.0, rep.gap(), 1e-12, "no bound was proven: " + rep);
            } else { // hybrid-greedy hid every transfer behind compute: optimal, nothing to search
                assertEquals("OPTIMAL", rep.status(), rep.toString());
                assertEquals("the greedy's plan adds no time: nothing to search", rep.note());
                assertEquals(0, rep.gap());
            }
        }
        // The greedy was cut short once it had a fitting plan: it says where, and it simulated less than in full.
        PlanContext cut = new PlanContext(s, Zoo.H100), full = new PlanContext(s, Zoo.H100);
        RecomputeOptimalPlanner opt = new RecomputeOptimalPlanner(tiny, null);
        opt.improve(Plan.baseline(s), budget, cut);
        new RecomputeGreedyPlanner().improve(Plan.baseline(s), budget, full);
        assertTrue(opt.report().note().contains("the greedy warm start was cut short at the limit"), opt.report()
                .toString());
        assertTrue(cut.simulations() < full.simulations(), cut.simulations() + " vs " + full.simulations());
    }

    /** Every variable is hinted, and fixed to its hint the model is solved at the greedy plan's simulated cost. */
    @Test
    void theGreedyWarmStartIsACompleteSolutionOfTheModel() {
        for (Schedule s : List.of(Zoo.chain(12, 16, 64), Zoo.schedule("tiny-cnn", 8), Zoo.schedule("resnet18", 8),
                Zoo.schedule("tiny-transformer", 8))) {
            String name = s.graph().model().name();
            PlanContext ctx = new PlanContext(s, Zoo.H100);
            long budget = ctx.baseline().peakBytes() * 6 / 10;
            Plan greedy = new RecomputeGreedyPlanner().improve(Plan.baseline(s), budget, ctx);
            SimResult g = ctx.simulate(greedy);
            if (g.peakBytes() > budget) budget = g.peakBytes();
            for (boolean swaps : new boolean[]{false, true}) {
                RematModel m = new RematModel(ctx, Plan.baseline(s), 2);
                if (swaps) {
                    m.allowSwaps();
                    m.allowCompression();
                }
                m.build(budget, 0);
                m.minimizeCost();
                assertTrue(m.hint(greedy), name);
                int[] cover = m.hintCoverage();
                assertEquals(cover[0], cover[1], name + ": every variable hinted");
                RematModel.Outcome out = m.solveFixedToHint(60);
                assertEquals("OPTIMAL", out.status().name(), name + (swaps ? " with swaps" : ""));
                double added = g.iterationSeconds() - ctx.baselineSeconds();
                assertEquals(added, out.objective(), 1e-9 + 1e-6 * added, name);
            }
        }
    }
}

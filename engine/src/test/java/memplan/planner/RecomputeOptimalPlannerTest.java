package memplan.planner;

import memplan.lower.ExecutionSchedule;
import memplan.lower.InstrKind;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanJson;
import memplan.plan.PlanValidator;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

class RecomputeOptimalPlannerTest extends PlannerContractTest {
    static final SolverLimits FAST = SolverLimits.DEFAULT.withTimeLimit(3);

    @Override
    String plannerName() {
        return "recompute-optimal";
    }

    @Override
    Planner planner() {
        return new RecomputeOptimalPlanner(FAST, null);
    }

    /**
     * The exhaustive search over every keep/recompute assignment (each tensor rebuilt once and kept: the old exact
     * planner's space, a subset of the solver's) is the oracle: on these graphs the solver proves that no schedule
     * with repeated rebuilds does better, and its plan costs exactly what the best assignment costs.
     */
    @Test
    void equalsTheExhaustiveSearchOnSmallGraphs() {
        for (Schedule s : List.of(Zoo.chain(3, 64, 512), Zoo.chain(5, 32, 1024), Zoo.schedule("tiny-mlp", 64))) {
            List<double[]> all = RecomputeGreedyPlannerTest.exhaustive(s);
            TreeSet<Long> peaks = new TreeSet<>();
            for (double[] a : all) peaks.add((long) a[0]);
            assertTrue(peaks.size() >= 2, "the search space has different peaks");
            for (long budget : peaks) {
                double best = Double.MAX_VALUE;
                for (double[] a : all) if (a[0] <= budget) best = Math.min(best, a[1]);
                RecomputeOptimalPlanner opt = new RecomputeOptimalPlanner(FAST.withGapTarget(0), null);
                Plan p = opt.plan(s, budget, Zoo.H100);
                SimResult r = Simulator.simulate(p, Zoo.H100);
                assertTrue(r.peakBytes() <= budget);
                assertEquals(best, r.overhead(), 1e-9, s.graph().model().name() + " at budget " + budget);
                if (opt.report() != null) assertTrue(opt.report().optimal(), opt.report().toString());
            }
        }
    }

    /** The greedy's plan with its re-runs made explicit lowers to the same peak and time (the warm start is exact). */
    @Test
    void explicitRebuildStepsReproduceTheGreedyPlan() {
        for (String m : List.of("tiny-cnn", "resnet18", "tiny-transformer")) {
            Schedule s = Zoo.schedule(m, 8);
            PlanContext ctx = new PlanContext(s, Zoo.H100);
            Plan greedy = new RecomputeGreedyPlanner().improve(Plan.baseline(s), ctx.baseline().peakBytes() * 7 / 10, ctx);
            RematModel model = new RematModel(ctx, Plan.baseline(s), 2);
            Plan explicit = model.planFor(RematModel.reruns(Lowering.lower(greedy, Zoo.H100)), "x");
            assertTrue(PlanValidator.problems(explicit).isEmpty(), () -> PlanValidator.problems(explicit).toString());
            assertTrue(explicit.decisions().length > 0 && java.util.Arrays.stream(explicit.decisions())
                    .anyMatch(d -> d instanceof Decision.Recompute r && r.explicit()), m);
            SimResult a = ctx.simulate(greedy), b = ctx.simulate(explicit);
            assertEquals(a.peakBytes(), b.peakBytes(), m);
            assertEquals(a.iterationSeconds(), b.iterationSeconds(), 1e-12, m);
            // The model's memory at every instruction is the lowering's.
            long[][] check = model.memoryCheck(explicit);
            assertArrayEquals(check[1], check[0], m);
        }
    }

    /** Rebuilt more than once: a tensor freed after a use and rebuilt before a later one, and the JSON keeps it. */
    @Test
    void aTensorRebuiltTwiceRoundTripsThroughJsonAndLowering() {
        Schedule s = Zoo.chain(4, 16, 64);
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        int t = -1;
        for (int x = 0; x < s.tensorCount(); x++) if (s.tensor(x).name().equals("relu1")) t = x;
        List<Integer> bw = new ArrayList<>();
        for (int st : ctx.uses.uses(t)) if (s.step(st).phase() == memplan.train.Phase.BACKWARD) bw.add(st);
        assertEquals(2, bw.size(), "relu1 is read by fc2's and its own backward");
        Plan p = Plan.baseline(s).with(t, new Decision.Recompute(bw));
        assertTrue(PlanValidator.problems(p).isEmpty(), () -> PlanValidator.problems(p).toString());
        ExecutionSchedule es = Lowering.lower(p, Zoo.H100);
        assertEquals(2, es.instrs().stream().filter(i -> i.kind() == InstrKind.RECOMPUTE).count());
        assertEquals(3, es.buffers().stream().filter(b -> b.tensor() == tensorId(s, "relu1")).count());
        Plan back = PlanJson.parse(PlanJson.write(p), "p.json", s);
        assertEquals(p, back);
        Plan bad = Plan.baseline(s).with(t, new Decision.Recompute(List.of(0)));
        assertFalse(PlanValidator.problems(bad).isEmpty());
    }

    static int tensorId(Schedule s, String name) {
        for (int x = 0; x < s.tensorCount(); x++) if (s.tensor(x).name().equals(name)) return x;
        throw new IllegalArgumentException(name);
    }

    /** The returned plan is never slower than the greedy's on any zoo model (it is among the candidates). */
    @Test
    void neverWorseThanTheGreedyOnTheZoo() {
        for (String m : Zoo.ALL) {
            Schedule s = Zoo.schedule(m, 2);
            long budget = Math.round(0.7 * Zoo.baselinePeak(s));
            double greedy;
            try {
                greedy = Simulator.simulate(Planners.named("recompute-greedy").plan(s, budget, Zoo.H100), Zoo.H100).overhead();
            } catch (InfeasibleBudgetException e) {
                continue;
            }
            RecomputeOptimalPlanner opt = new RecomputeOptimalPlanner(SolverLimits.DEFAULT.withTimeLimit(1), null);
            SimResult r = Simulator.simulate(opt.plan(s, budget, Zoo.H100), Zoo.H100);
            assertTrue(r.peakBytes() <= budget, m);
            assertTrue(r.overhead() <= greedy + 1e-12, m + ": " + r.overhead() + " > greedy " + greedy);
            assertTrue(opt.report().gap() >= 0 && opt.report().boundSeconds() <= opt.report().simulatedSeconds() + 1e-9, m);
        }
    }
}

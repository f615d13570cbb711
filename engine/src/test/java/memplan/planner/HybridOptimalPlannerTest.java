package memplan.planner;

import memplan.backend.Codec;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class HybridOptimalPlannerTest extends PlannerContractTest {
    static final SolverLimits FAST = SolverLimits.DEFAULT.withTimeLimit(1);

    @Override
    String plannerName() {
        return "hybrid-optimal";
    }

    @Override
    Planner planner() {
        return new HybridOptimalPlanner(FAST, null);
    }

    /** Both greedy plans are among the candidates, so the returned plan is never slower than either. */
    @Test
    void neverWorseThanEitherGreedyOnTheZoo() {
        for (String m : Zoo.ALL) {
            Schedule s = Zoo.schedule(m, 2);
            long budget = Math.round(0.7 * Zoo.baselinePeak(s));
            double best = Double.MAX_VALUE;
            for (String g : new String[]{"recompute-greedy", "hybrid-greedy"})
                try {
                    best = Math.min(best, Simulator.simulate(Planners.named(g).plan(s, budget, Zoo.H100), Zoo.H100)
                            .overhead());
                } catch (InfeasibleBudgetException e) {
                    // that greedy does not fit: the other is the bar
                }
            if (best == Double.MAX_VALUE) continue;
            HybridOptimalPlanner opt = new HybridOptimalPlanner(FAST, null);
            SimResult r = Simulator.simulate(opt.plan(s, budget, Zoo.H100), Zoo.H100);
            assertTrue(r.peakBytes() <= budget, m);
            assertTrue(r.overhead() <= best + 1e-12, m + ": " + r.overhead() + " > greedy " + best);
            assertTrue(opt.report().gap() >= 0, m);
        }
    }

    /**
     * Where the host link is so fast that every transfer hides behind compute, the solver swaps instead of
     * recomputing: its plan swaps, validates and costs less than recomputing alone.
     */
    @Test
    void swapsWhenTransfersHideBehindCompute() {
        Schedule s = Zoo.chain(12, 64, 2048);
        DeviceModel h = Zoo.H100;
        DeviceModel fast = new DeviceModel(h.name(), h.capacityBytes(), h.flopsPerSecond(), h.memoryBytesPerSecond(),
                h.linkBytesPerSecond() * 1000, 0, h.launchSeconds(), h.measuredStepSeconds());
        long budget = Math.round(0.6 * new PlanContext(s, fast).baseline().peakBytes());
        HybridOptimalPlanner opt = new HybridOptimalPlanner(SolverLimits.DEFAULT.withTimeLimit(10), null);
        Plan p = opt.plan(s, budget, fast);
        assertTrue(PlanValidator.problems(p).isEmpty(), () -> PlanValidator.problems(p).toString());
        SimResult r = Simulator.simulate(p, fast);
        assertTrue(r.peakBytes() <= budget);
        long swaps = 0;
        for (Decision d : p.decisions()) if (d instanceof Decision.Swap) swaps++;
        assertTrue(swaps > 0, "swaps chosen: " + opt.report());
        double recompute = Simulator.simulate(new RecomputeOptimalPlanner(SolverLimits.DEFAULT.withTimeLimit(5), null)
                .plan(s, budget, fast), fast).overhead();
        assertTrue(r.overhead() < recompute, r.overhead() + " vs recompute alone " + recompute);
    }

    /**
     * AlexNet's ReLU outputs under max pooling are read only by ReLU and MaxPool backward, so a 1-bit mask holds
     * them losslessly. With a host link too slow for swaps, at 97% of the baseline peak the solver chooses masks:
     * its plan validates, fits, stays lossless, costs no more than hybrid-greedy or recompute alone, and the
     * simulator prices it as the solver's objective does.
     */
    @Test
    void compressesReluOutputsWithLosslessMasks() {
        Schedule s = Zoo.schedule("alexnet", 64);
        DeviceModel h = Zoo.H100;
        // a slow host link: swapping does not pay, so masks compete with recompute
        DeviceModel slow = new DeviceModel(h.name(), h.capacityBytes(), h.flopsPerSecond(), h.memoryBytesPerSecond(),
                h.linkBytesPerSecond() / 1000, 0, h.launchSeconds(), h.measuredStepSeconds());
        PlanContext ctx = new PlanContext(s, slow);
        long budget = Math.round(0.97 * ctx.baseline().peakBytes());
        HybridOptimalPlanner opt = new HybridOptimalPlanner(SolverLimits.DEFAULT.withTimeLimit(10), null);
        Plan p = opt.plan(s, budget, slow);
        assertTrue(PlanValidator.problems(p).isEmpty(), () -> PlanValidator.problems(p).toString());
        assertFalse(p.lossy());
        SimResult r = Simulator.simulate(p, slow);
        assertTrue(r.peakBytes() <= budget);
        int masks = 0;
        for (Decision d : p.decisions())
            if (d instanceof Decision.Compress c) {
                assertEquals(Codec.MASK_1BIT, c.codec());
                assertFalse(c.swap());
                masks++;
            }
        assertTrue(masks > 0, "masks chosen: " + opt.report());
        assertEquals("solver", opt.report().source(), opt.report().toString());
        assertEquals("", opt.report().note(), opt.report().toString());
        double greedy = Simulator.simulate(new HybridGreedyPlanner().plan(s, budget, slow), slow).overhead();
        assertTrue(r.overhead() <= greedy + 1e-12, r.overhead() + " vs hybrid-greedy " + greedy);
        double recompute = Simulator.simulate(new RecomputeOptimalPlanner(SolverLimits.DEFAULT.withTimeLimit(10),
                null).plan(s, budget, slow), slow).overhead();
        assertTrue(r.overhead() < recompute, r.overhead() + " vs recompute alone " + recompute);
    }
}

package memplan.planner;

import memplan.lower.Allocator;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class SharePlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "share";
    }

    @Test
    void reluRunsInPlaceAndGradientsReuseBuffers() {
        Schedule s = Zoo.chain(8, 64, 256);
        Plan p = planner().plan(s, Planner.MIN_PEAK, Zoo.H100);
        int inPlace = 0, grads = 0;
        for (int t = 0; t < s.tensorCount(); t++) {
            if (!(p.decision(t) instanceof Decision.Share sh)) continue;
            if (s.tensor(t).name().startsWith("relu") && s.tensor(sh.with()).name().startsWith("fc")) inPlace++;
            if (s.tensor(t).name().startsWith("grad(")) grads++;
        }
        assertEquals(8, inPlace, "every ReLU overwrites its Linear output");
        assertTrue(grads > 0, "gradients reuse buffers");
        long base = Zoo.baselinePeak(s);
        long peak = Simulator.simulate(p, Zoo.H100).peakBytes();
        assertTrue(peak < base, "in place lowers the peak: " + peak + " vs " + base);
        long arena = Allocator.place(Lowering.lower(p, Zoo.H100)).arenaBytes();
        long baseArena = Allocator.place(Lowering.lower(Plan.baseline(s), Zoo.H100)).arenaBytes();
        assertTrue(arena <= baseArena, "arena " + arena + " vs " + baseArena);
    }

    @Test
    void composesAfterOtherPlanners() {
        Schedule s = Zoo.chain(8, 64, 256);
        Planner p = Planners.named("checkpoint-sqrt+share");
        Plan plan = p.plan(s, Planner.MIN_PEAK, Zoo.H100);
        long sqrtPeak = Simulator.simulate(Planners.named("checkpoint-sqrt").plan(s, Planner.MIN_PEAK, Zoo.H100), Zoo.H100).peakBytes();
        assertTrue(Simulator.simulate(plan, Zoo.H100).peakBytes() <= sqrtPeak);
        assertEquals("checkpoint-sqrt+share", plan.planner());
    }

    @Test
    void sharingAfterRecomputeNeverRaisesThePeakAndStillShares() {
        Schedule s = Zoo.schedule("resnet18", 32);
        long budget = Math.round(0.75 * Zoo.baselinePeak(s));
        Plan rec = Planners.named("recompute-greedy").plan(s, budget, Zoo.H100);
        Plan both = Planners.named("recompute-greedy+share").plan(s, budget, Zoo.H100);
        assertTrue(Simulator.simulate(both, Zoo.H100).peakBytes() <= Simulator.simulate(rec, Zoo.H100).peakBytes());
        assertTrue(both.changedCount() > rec.changedCount(), "buffers are shared around the recomputes");
        // No buffer is reused while a recompute still reads the tensor in it.
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        boolean[] readByRecompute = new boolean[s.tensorCount()];
        for (int t = 0; t < s.tensorCount(); t++)
            if (both.decision(t) instanceof Decision.Recompute) for (int in : ctx.producer(t).inputs()) readByRecompute[s.tensorOfValue(in)] = true;
        for (int t = 0; t < s.tensorCount(); t++)
            if (both.decision(t) instanceof Decision.Share sh) assertFalse(readByRecompute[sh.with()], s.tensor(t).name());
    }
}

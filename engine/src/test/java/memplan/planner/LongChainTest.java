package memplan.planner;

import memplan.lower.ExecutionSchedule;
import memplan.lower.InstrKind;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Nothing in planning, lowering or simulation recurses per op: a 20 000-op chain whose first backward step rebuilds
 * every activation lowers and simulates on the default thread stack, and the greedy plans a 3 000-op chain (its time
 * grows faster than linearly, so longer chains are for the benchmark `memplan bench chain`).
 */
class LongChainTest {
    static final int BLOCKS = 10_000; // Linear + ReLU each: 20 000 forward ops

    @Test
    void everyActivationRecomputedFromTheFirstLowersWithoutRecursion() {
        Schedule s = Zoo.chain(BLOCKS, 4, 64);
        // The longest possible rebuild chain: every activation but the loss is recomputed, so the first backward
        // step rebuilds all 20 000 ops one after another.
        Plan p = Plan.baseline(s);
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        Decision[] d = p.decisions();
        for (int t = 0; t < s.tensorCount(); t++)
            if (ctx.producer(t) != null && t != s.lossTensor() && ctx.uses.lastForwardUse(t) >= 0) d[t] = Decision.RECOMPUTE;
        Plan all = ctx.repair(new Plan(s, d, "test"));
        ExecutionSchedule es = Lowering.lower(all, Zoo.H100);
        long recomputes = es.instrs().stream().filter(i -> i.kind() == InstrKind.RECOMPUTE).count();
        assertTrue(recomputes >= 2L * BLOCKS, "recomputes: " + recomputes);
        SimResult r = Simulator.simulate(all, Zoo.H100);
        assertTrue(r.recomputeSeconds() > 0 && r.peakBytes() > 0);
    }

    @Test
    void greedyRecomputePlansALongChain() {
        Schedule s = Zoo.chain(1_500, 4, 64);
        long budget = Zoo.baselinePeak(s) / 2;
        Plan p = Planners.named("recompute-greedy").plan(s, budget, Zoo.H100);
        assertTrue(Simulator.simulate(p, Zoo.H100).peakBytes() <= budget);
    }
}

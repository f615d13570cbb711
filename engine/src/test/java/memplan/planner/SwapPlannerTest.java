package memplan.planner;

import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class SwapPlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "swap";
    }

    @Test
    void onlySwapsAndHidesTransfersWhenTheBudgetIsMild() {
        Schedule s = Zoo.chain(12, 256, 4096);
        long base = Zoo.baselinePeak(s);
        Plan p = planner().plan(s, Math.round(0.8 * base), Zoo.H100.withLink("nvlink-c2c"));
        for (int t = 0; t < s.tensorCount(); t++)
            assertTrue(p.decision(t) instanceof Decision.Keep || p.decision(t) instanceof Decision.Swap, p.decision(t).toString());
        SimResult r = Simulator.simulate(p, Zoo.H100.withLink("nvlink-c2c"));
        assertTrue(r.peakBytes() <= 0.8 * base);
        assertTrue(r.bytesMoved() > 0);
        assertTrue(r.overhead() < 0.5, "overhead " + r.overhead());
    }
}

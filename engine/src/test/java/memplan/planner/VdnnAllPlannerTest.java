package memplan.planner;

import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.TensorUses;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class VdnnAllPlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "vdnn-all";
    }

    @Test
    void swapsEveryActivationAndPrefetchesOneLayerAhead() {
        Schedule s = Zoo.schedule("lenet5", 16);
        Plan p = planner().plan(s, Planner.MIN_PEAK, Zoo.H100);
        TensorUses u = TensorUses.of(s);
        int swaps = 0;
        for (int t = 0; t < s.tensorCount(); t++) {
            if (!(p.decision(t) instanceof Decision.Swap sw)) continue;
            swaps++;
            assertEquals(u.lastForwardUse(t), sw.outAfter());
            assertEquals(u.firstBackwardUse(t), sw.inBefore());
            assertEquals(Math.max(sw.outAfter(), sw.inBefore() - 2), sw.prefetchAfter());
        }
        assertTrue(swaps >= 5, "swaps " + swaps);
        int convOnly = Planners.named("vdnn-conv").plan(s, Planner.MIN_PEAK, Zoo.H100).changedCount();
        assertTrue(convOnly < swaps, "vdnn-conv swaps fewer tensors");
    }
}

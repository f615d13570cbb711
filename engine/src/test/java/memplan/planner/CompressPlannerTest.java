package memplan.planner;

import memplan.backend.Codec;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class CompressPlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "compress";
    }

    @Test
    void usesOnlyLosslessMasksOfReluOutputs() {
        Schedule s = Zoo.schedule("lenet5", 32);
        Plan p = planner().plan(s, Planner.MIN_PEAK, Zoo.H100);
        int masks = 0;
        for (int t = 0; t < s.tensorCount(); t++)
            if (p.decision(t) instanceof Decision.Compress c) {
                assertEquals(Codec.MASK_1BIT, c.codec());
                masks++;
            }
        assertTrue(masks > 0);
        assertFalse(p.lossy());
        Plan lossy = Planners.named("compress-fp16").plan(s, Planner.MIN_PEAK, Zoo.H100);
        assertTrue(lossy.lossy());
        assertFalse(Planners.named("compress-fp16").lossless());
    }
}

package memplan.planner;

import memplan.plan.Plan;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class HybridGreedyPlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "hybrid-greedy";
    }

    @Test
    void neverSlowerThanRecomputeOrSwapAlone() {
        Schedule s = Zoo.schedule("resnet18", 4);
        // A budget the recompute planner meets: its lowest peak.
        Plan lowest = Planners.named("recompute-greedy").plan(s, Planner.MIN_PEAK, Zoo.H100);
        long budget = Simulator.simulate(lowest, Zoo.H100).peakBytes();
        double hybrid = Simulator.simulate(planner().plan(s, budget, Zoo.H100), Zoo.H100).overhead();
        Plan rec = Planners.named("recompute-greedy").plan(s, budget, Zoo.H100);
        assertTrue(hybrid <= Simulator.simulate(rec, Zoo.H100).overhead() + 1e-9);
    }
}

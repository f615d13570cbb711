package memplan.planner;

import memplan.plan.Plan;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class PlannersTest {
    @Test
    void registryNamesEveryPlanner() {
        assertEquals(List.of("baseline", "share", "vdnn-all", "vdnn-conv", "swap", "checkpoint-sqrt", "recompute-greedy",
                "recompute-optimal", "hybrid-greedy", "hybrid-optimal", "compress", "compress-fp16"), Planners.names());
        for (String n : Planners.names()) {
            Planner p = Planners.named(n);
            assertEquals(n, p.name());
            assertFalse(p.description().isBlank());
        }
        assertFalse(Planners.losslessNames().contains("compress-fp16"));
    }

    @Test
    void unknownNameListsThePlanners() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Planners.named("magic"));
        assertTrue(e.getMessage().contains("unknown planner 'magic'"), e.getMessage());
        assertTrue(e.getMessage().contains("checkpoint-sqrt"), e.getMessage());
    }

    @Test
    void composedPlannersApplyInTurn() {
        Planner p = Planners.named("swap+share");
        assertEquals("swap+share", p.name());
        Schedule s = Zoo.chain(6, 64, 4096);
        long base = Zoo.baselinePeak(s);
        Plan plan = p.plan(s, Math.round(0.7 * base), Zoo.H100);
        assertTrue(Simulator.simulate(plan, Zoo.H100).peakBytes() <= 0.7 * base);
    }

    @Test
    void budgetsParseBytesAndShares() {
        assertEquals(6L << 30, Budget.parse("6GiB").resolve(0));
        assertEquals(512L << 20, Budget.parse("512MiB").resolve(0));
        assertEquals(500, Budget.parse("50%").resolve(1000));
        assertTrue(Budget.parse("50%").relative());
        assertEquals("50%", Budget.parse("50%").toString());
        for (String bad : new String[]{"", "lots", "-5%", "0%", "12XB", "0"})
            assertThrows(IllegalArgumentException.class, () -> Budget.parse(bad), bad);
    }

    @Test
    void infeasibleMessageNamesLeastPeakAndPlanner() {
        Schedule s = Zoo.chain(4, 64, 256);
        InfeasibleBudgetException e = assertThrows(InfeasibleBudgetException.class, () -> Planners.named("baseline").plan(s, 1000, Zoo.H100));
        assertTrue(e.getMessage().startsWith("infeasible: the least peak reachable is "), e.getMessage());
        assertTrue(e.getMessage().contains("with planner baseline"));
        assertEquals(Zoo.baselinePeak(s), e.leastPeakBytes());
    }

    @Test
    void maxBatchGrowsWithRecompute() {
        var m = Zoo.model("lenet5");
        java.util.function.IntFunction<Schedule> at = b -> memplan.train.TrainingGraph.derive(
                memplan.graph.Graph.instantiate(m, b, memplan.ir.DType.FP32), memplan.train.Optimizer.SGD);
        long budget = Zoo.baselinePeak(at.apply(64));
        MaxBatch.Result base = MaxBatch.search(at, Planners.named("baseline"), budget, Zoo.H100, 4096);
        assertTrue(base.batch() >= 64 && base.batch() < 128, "baseline max batch " + base.batch());
        assertTrue(Zoo.baselinePeak(at.apply(base.batch() + 1)) > budget);
        MaxBatch.Result rec = MaxBatch.search(at, Planners.named("checkpoint-sqrt"), budget, Zoo.H100, 4096);
        assertTrue(rec.batch() >= base.batch(), rec.batch() + " vs " + base.batch());
        assertEquals(0, MaxBatch.search(at, Planners.named("baseline"), 1000, Zoo.H100, 64).batch());
    }
}

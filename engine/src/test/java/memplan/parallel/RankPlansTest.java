package memplan.parallel;

import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.sim.DeviceModel;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RankPlansTest {
    static final DeviceModel H100 = DeviceModel.preset("h100");

    /** Activations dominate: a deep, wide MLP at a large batch. */
    static Schedule deep() {
        return ParallelProfileTest.mlp(8192, Optimizer.ADAM, 256, 256, 256, 256, 256, 256, 10);
    }

    @Test
    void everyRankScheduleWithoutAPlanIsItsRankMemory() {
        Schedule s = deep();
        List<Layout> layouts = List.of(Layout.dataParallel(2), Layout.parse(4, null, "zero1"),
                Layout.parse(4, null, "zero2"), Layout.parse(4, null, "zero3"), Layout.parse(4, null, "fsdp-full"),
                Layout.parse(4, null, "fsdp-grad-op"), Layout.parse(0, "dp=2,tp=2", null),
                Layout.parse(0, "dp=2,tp=2", null).withSequenceParallel(false),
                Layout.parse(0, "dp=2,pp=2", "zero1").withMicroBatches(4),
                Layout.parse(0, "dp=2,pp=3", null).withMicroBatches(4).withPipeline(PipelineSchedule.GPIPE),
                Layout.parse(4, null, "zero3").withOffload(true, true));
        for (Layout l : layouts) {
            List<RankSchedule> rs = ParallelProfile.rankSchedules(s, l);
            List<RankMemory> ranks = ParallelProfile.of(s, l).ranks();
            assertEquals(ranks.size(), rs.size(), l.describe());
            for (int i = 0; i < rs.size(); i++) {
                RankSchedule r = rs.get(i);
                assertEquals(ranks.get(i).peakBytes(), r.memory().peakBytes(), l.describe());
                long sim = Simulator.simulate(Plan.baseline(r.schedule()), H100).peakBytes();
                assertEquals(r.memory().peakBytes(), sim, l.describe() + " rank " + i);
            }
        }
    }

    @Test
    void aRankPlanMeetsThePerDeviceBudgetCountingTheBuckets() {
        Schedule s = deep();
        Layout l = Layout.dataParallel(4);
        Planner p = Planners.named("recompute-greedy");
        long rankPeak = ParallelProfile.of(s, l).highest().peakBytes();
        long buckets = ParallelProfile.of(s, l).highest().buffers().get(0).bytes();
        long budget = rankPeak * 7 / 10;
        // the single-device planner fits the micro-batch into the budget less the buckets
        long single = Simulator.simulate(p.plan(s, budget - buckets, H100), H100).peakBytes();
        assertTrue(single <= budget - buckets);
        RankPlans plans = RankPlans.plan(s, l, p, budget, H100);
        assertEquals(1, plans.ranks().size());   // every DDP rank alike: one plan
        RankPlans.RankPlan h = plans.highest();
        assertTrue(h.peakBytes() <= budget, h.peakBytes() + " > " + budget);
        assertEquals(rankPeak, h.before().peakBytes());
        assertTrue(h.plan().changedCount() > 0);
        // the rank's plan brings the micro-batch's own memory under the budget less the buckets
        Plan onMicroBatch = new Plan(s, h.plan().decisions(), h.plan().planner());
        assertEquals(Simulator.simulate(onMicroBatch, H100).peakBytes() + buckets, h.peakBytes());
        // and a plan of the micro-batch alone, applied to the ranks, is that plan plus the buckets
        Plan alone = p.plan(s, budget, H100);
        RankPlans applied = RankPlans.apply(s, l, alone, H100);
        assertEquals(Simulator.simulate(alone, H100).peakBytes() + buckets, applied.highest().peakBytes());
    }

    @Test
    void identicalRanksShareOnePlanAndDifferentOnesDoNot() {
        // four parameters over eight ZeRO-1 ranks: ranks 4 to 7 own nothing and are alike
        Schedule s = ParallelProfileTest.mlp(8192, Optimizer.ADAM, 256, 256, 256, 10);
        Layout l = Layout.parse(8, null, "zero1");
        Planner p = Planners.named("recompute-greedy");
        long budget = ParallelProfile.of(s, l).highest().peakBytes() * 9 / 10;
        RankPlans plans = RankPlans.plan(s, l, p, budget, H100);
        assertEquals(8, plans.ranks().size());
        assertEquals(5, plans.distinctPlans());
        assertEquals(List.of(0, 1, 2, 3, 4, 4, 4, 4),
                plans.ranks().stream().map(RankPlans.RankPlan::sharesPlanOf).toList());
        assertArrayEquals(plans.ranks().get(4).plan().decisions(), plans.ranks().get(7).plan().decisions());
        assertTrue(plans.ranks().get(7).plan().changedCount() > 0);
        for (RankPlans.RankPlan r : plans.ranks()) assertTrue(r.peakBytes() <= budget);
        // owning a parameter's optimizer state and update, ranks 0 and 1 differ from the others and each other
        assertTrue(!RankPlans.sameShare(plans.ranks().get(0).schedule(), plans.ranks().get(4).schedule()));
        // under DDP every rank of the stage is alike: one rank listed, one plan for all
        RankPlans ddp = RankPlans.plan(s, Layout.parse(0, "dp=4,tp=2", null), p, budget, H100);
        assertEquals(1, ddp.ranks().size());
        assertEquals(1, ddp.distinctPlans());
    }

    @Test
    void aStagesPlanDecidesOnlyAboutItsOwnLayers() {
        Schedule s = deep();
        Layout l = Layout.parse(0, "dp=1,pp=2", null).withMicroBatches(4);
        int[] stageOf = ParallelProfile.stageOfSteps(s, l);
        long budget = ParallelProfile.of(s, l).highest().peakBytes() * 8 / 10;
        RankPlans plans = RankPlans.plan(s, l, Planners.named("recompute-greedy"), budget, H100);
        assertEquals(2, plans.ranks().size());
        for (RankPlans.RankPlan r : plans.ranks()) {
            int stage = r.before().stage();
            int changed = 0;
            for (int t = 0; t < s.tensorCount(); t++) {
                if (r.plan().decision(t) instanceof Decision.Keep) continue;
                changed++;
                int writer = firstForwardWriter(s, t);
                assertTrue(writer >= 0 && stageOf[writer] == stage, "stage " + stage + " decides about "
                        + s.tensor(t).name() + " of stage " + (writer < 0 ? -1 : stageOf[writer]));
            }
            assertTrue(r.peakBytes() <= budget || r.before().peakBytes() <= budget);
            if (r.before().peakBytes() > budget) assertTrue(changed > 0, "stage " + stage + " over budget unplanned");
        }
        assertTrue(plans.highest().peakBytes() <= budget);
    }

    @Test
    void aRankThatCannotFitIsNamed() {
        Schedule s = deep();
        Layout l = Layout.parse(0, "dp=1,pp=2", null).withMicroBatches(2);
        var e = assertThrows(RankPlans.InfeasibleRankException.class,
                () -> RankPlans.plan(s, l, Planners.named("recompute-greedy"), 1L << 20, H100));
        assertTrue(e.getMessage().startsWith("rank 0 (pipeline stage 0): infeasible"), e.getMessage());
        assertTrue(e.leastPeakBytes() > 1L << 20);
    }

    private static int firstForwardWriter(Schedule s, int t) {
        for (Step st : s.steps())
            if (st.phase() == Phase.FORWARD && Arrays.stream(st.writes()).anyMatch(w -> w == t)) return st.index();
        return -1;
    }
}

package memplan.parallel;

import memplan.ir.TensorRole;
import memplan.plan.Plan;
import memplan.planner.InfeasibleBudgetException;
import memplan.planner.PlanContext;
import memplan.planner.Planner;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import memplan.train.Step;

import java.util.ArrayList;
import java.util.List;

/**
 * Plans per rank: a planner runs inside each distinct rank's schedule ({@link ParallelProfile#rankSchedules}), so a
 * pipeline stage's plan decides only about its own layers' tensors, tensor-parallel ranks see their split sizes, and
 * the rank's model states, the engine's buffers and the pipeline's stash count against the per-device budget. Ranks
 * whose schedules are the same (every rank of a stage under DDP, for example) share one plan.
 */
public record RankPlans(Layout layout, List<RankPlan> ranks) {

    /**
     * One distinct rank planned: its memory without a plan ({@code before}), its schedule, its plan and the plan's
     * simulation ({@code after}); {@code sharesPlanOf} is the index in {@link #ranks} of the first rank whose plan
     * this one uses (itself when it was planned on its own).
     */
    public record RankPlan(RankMemory before, Schedule schedule, Plan plan, SimResult after, int sharesPlanOf) {
        public long peakBytes() {
            return after.peakBytes();
        }

        public int globalRank(Layout l) {
            return before.globalRank(l);
        }
    }

    /** The rank with the highest planned peak (the first such). */
    public RankPlan highest() {
        RankPlan h = ranks.get(0);
        for (RankPlan r : ranks) if (r.peakBytes() > h.peakBytes()) h = r;
        return h;
    }

    /** How many distinct plans the ranks use. */
    public int distinctPlans() {
        return (int) ranks.stream().filter(r -> ranks.indexOf(r) == r.sharesPlanOf()).count();
    }

    /**
     * Every distinct rank planned by {@code planner} against {@code budgetBytes} per device ({@link Planner#MIN_PEAK}:
     * as low as it reaches). A rank the planner cannot fit is reported with its rank and stage.
     */
    public static RankPlans plan(Schedule s, Layout layout, Planner planner, long budgetBytes, DeviceModel device) {
        List<RankSchedule> rs = ParallelProfile.rankSchedules(s, layout);
        List<RankPlan> out = new ArrayList<>();
        for (RankSchedule r : rs) {
            int same = sameAs(out, r.schedule());
            Plan p;
            if (same >= 0) {
                Plan shared = out.get(same).plan();    // the same sizes: valid as it is
                p = new Plan(r.schedule(), shared.decisions(), shared.planner());
            } else {
                try {
                    p = planner.plan(r.schedule(), budgetBytes, device);
                } catch (InfeasibleBudgetException e) {
                    throw new InfeasibleRankException(r.globalRank(layout), r.memory().stage(), layout.pp(), e);
                }
            }
            out.add(new RankPlan(r.memory(), r.schedule(), p, Simulator.simulate(p, device),
                    same >= 0 ? same : out.size()));
        }
        return new RankPlans(layout, List.copyOf(out));
    }

    /**
     * One plan of the micro-batch's schedule applied to every rank (a plan file: the ranks share the micro-batch's
     * tensor ids). Decisions about tensors a rank does not hold change nothing there.
     */
    public static RankPlans apply(Schedule s, Layout layout, Plan plan, DeviceModel device) {
        List<RankPlan> out = new ArrayList<>();
        for (RankSchedule r : ParallelProfile.rankSchedules(s, layout)) {
            int same = sameAs(out, r.schedule());
            Plan p = rebind(plan, r.schedule(), device);
            out.add(new RankPlan(r.memory(), r.schedule(), p, Simulator.simulate(p, device),
                    same >= 0 ? same : out.size()));
        }
        return new RankPlans(layout, List.copyOf(out));
    }

    /**
     * A plan's decisions on another share of the same micro-batch (or the micro-batch itself), less those that are not
     * valid there: a rank may co-share buffers its sizes allow (an optimizer's temporaries it holds nothing of) that
     * the other's sizes do not.
     */
    public static Plan rebind(Plan p, Schedule onto, DeviceModel device) {
        return new PlanContext(onto, device).repair(new Plan(onto, p.decisions(), p.planner()));
    }

    /** The first planned rank whose schedule has the same sizes, costs and held bytes, or -1. */
    private static int sameAs(List<RankPlan> done, Schedule s) {
        for (int i = 0; i < done.size(); i++) {
            RankPlan d = done.get(i);
            if (d.sharesPlanOf() == i && sameShare(d.schedule(), s)) return i;
        }
        return -1;
    }

    static boolean sameShare(Schedule a, Schedule b) {
        if (a.tensorCount() != b.tensorCount() || a.stepCount() != b.stepCount()) return false;
        for (int t = 0; t < a.tensorCount(); t++) if (a.tensor(t).bytes() != b.tensor(t).bytes()) return false;
        for (int i = 0; i < a.stepCount(); i++) {
            Step x = a.step(i), y = b.step(i);
            if (x.flops() != y.flops() || x.bytesAccessed() != y.bytesAccessed()) return false;
        }
        for (TensorRole role : TensorRole.values())
            for (int i = 0; i < a.stepCount(); i++) if (a.heldBytes(role, i) != b.heldBytes(role, i)) return false;
        return true;
    }

    /** No plan of the planner fits one rank of the layout. */
    public static final class InfeasibleRankException extends IllegalArgumentException {
        private final int rank;
        private final int stage;
        private final transient InfeasibleBudgetException cause;

        InfeasibleRankException(int rank, int stage, int stages, InfeasibleBudgetException cause) {
            super("rank " + rank + (stages > 1 ? " (pipeline stage " + stage + ")" : "") + ": " + cause.getMessage());
            this.rank = rank;
            this.stage = stage;
            this.cause = cause;
        }

        public int rank() { return rank; }
        public int stage() { return stage; }
        public long leastPeakBytes() { return cause.leastPeakBytes(); }
    }
}

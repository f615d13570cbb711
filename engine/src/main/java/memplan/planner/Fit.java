package memplan.planner;

import memplan.plan.Plan;

import java.util.ArrayList;
import java.util.List;

/** Choosing among candidate plans: fitting first, then least simulated time; otherwise least peak. */
final class Fit {
    private Fit() {
    }

    static boolean fits(PlanContext ctx, Plan p, long budget) {
        return budget > Planner.MIN_PEAK && ctx.score(p).peakBytes() <= budget;
    }

    static Plan best(PlanContext ctx, List<Plan> options, long budget) {
        Candidates c = new Candidates(ctx, budget);
        for (Plan p : options) c.add(p);
        return c.best();
    }

    /**
     * Candidate plans, each scored as it is added (so a planner watching a deadline simulates between its checks,
     * not all at the end); {@link #best} chooses as {@link Fit#best} does.
     */
    static final class Candidates {
        private final PlanContext ctx;
        private final long budget;
        private final List<Plan> plans = new ArrayList<>();
        private final List<PlanContext.Score> scores = new ArrayList<>();

        Candidates(PlanContext ctx, long budget) {
            this.ctx = ctx;
            this.budget = budget;
        }

        void add(Plan p) {
            plans.add(p);
            scores.add(ctx.score(p));
        }

        /** Whether one of them may be returned ({@link Cutoff#fits}). */
        boolean anyFits() {
            for (PlanContext.Score r : scores) if (Cutoff.fits(r.peakBytes(), budget)) return true;
            return false;
        }

        Plan best() {
            Plan best = null;
            PlanContext.Score bestR = null;
            for (int i = 0; i < plans.size(); i++) {
                if (best == null || RecomputeGreedyPlanner.better(scores.get(i), bestR, budget)) {
                    best = plans.get(i);
                    bestR = scores.get(i);
                }
            }
            return best;
        }
    }
}

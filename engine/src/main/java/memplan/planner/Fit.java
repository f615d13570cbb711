package memplan.planner;

import memplan.plan.Plan;

import java.util.List;

/** Choosing among candidate plans: fitting first, then least simulated time; otherwise least peak. */
final class Fit {
    private Fit() {
    }

    static boolean fits(PlanContext ctx, Plan p, long budget) {
        return budget > Planner.MIN_PEAK && ctx.score(p).peakBytes() <= budget;
    }

    static Plan best(PlanContext ctx, List<Plan> options, long budget) {
        Plan best = null;
        PlanContext.Score bestR = null;
        for (Plan p : options) {
            PlanContext.Score r = ctx.score(p);
            if (best == null || RecomputeGreedyPlanner.better(r, bestR, budget)) {
                best = p;
                bestR = r;
            }
        }
        return best;
    }
}

package memplan.planner;

import memplan.plan.Plan;

import java.util.EnumSet;

/**
 * Per tensor, the cheapest of swap (exposed transfer time), recompute (forward time of its producer, free when the
 * producer is re-run anyway) and lossless compression (codec time), priced per byte freed at the simulated peak,
 * until the budget is met; then in-place sharing of what is still kept.
 */
public final class HybridPlanner implements Planner {
    @Override public String name() { return "hybrid"; }
    @Override public String description() { return "per tensor the cheapest of swap, recompute or lossless compression per byte freed at the peak"; }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        Plan p = new Greedy(ctx, EnumSet.allOf(Greedy.Kind.class), false).run(start, budgetBytes, start.planner());
        return new SharePlanner().improve(p, budgetBytes, ctx);
    }
}

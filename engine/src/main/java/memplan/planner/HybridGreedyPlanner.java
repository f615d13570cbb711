package memplan.planner;

import memplan.plan.Plan;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * Per tensor, the cheapest of swap (exposed transfer time), recompute (forward time of its producer, free when the
 * producer is re-run anyway) and lossless compression (codec time), priced per byte freed at the simulated peak,
 * until the budget is met (swaps priced higher once the copy stream is busier than compute); the same without swaps
 * , the recompute-greedy plan (alone and followed by the greedy) and vDNN's swap-everything plan are tried too, and the
 * fitting plan with the least simulated time wins; then in-place
 * sharing of what is still kept.
 */
public final class HybridGreedyPlanner implements Planner {
    @Override public String name() { return "hybrid-greedy"; }
    @Override public String description() { return "per tensor the cheapest of swap, recompute or lossless "
            + "compression per byte freed at the peak"; }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        return improve(start, budgetBytes, ctx, Cutoff.none(), null);
    }

    /**
     * As {@link #improve(Plan, long, PlanContext)}, stopping at {@code cutoff} once a plan within the budget is in
     * hand (the plans left are skipped); {@code rec}: the recompute-greedy plan from {@code start} if the caller
     * has it already, else null.
     */
    Plan improve(Plan start, long budgetBytes, PlanContext ctx, Cutoff cutoff, Plan rec) {
        if (Fit.fits(ctx, start, budgetBytes)) return start;
        // The greedy over all three actions, the same without swaps, and the recompute planner: the best that fits.
        List<Plan> options = new ArrayList<>();
        Greedy all = new Greedy(ctx, EnumSet.allOf(Greedy.Kind.class), false);
        if (rec != null) options.add(rec); // first to hand; the order below decides ties as before
        if (!stop(cutoff, "before the greedy over all actions", ctx, options, budgetBytes))
            options.add(all.run(start, budgetBytes, start.planner(), cutoff,
                    anyFits(cutoff, ctx, options, budgetBytes)));
        if (!stop(cutoff, "before the greedy without swaps", ctx, options, budgetBytes))
            options.add(new Greedy(ctx, EnumSet.of(Greedy.Kind.RECOMPUTE, Greedy.Kind.COMPRESS), false).run(start,
                    budgetBytes, start.planner(), cutoff, anyFits(cutoff, ctx, options, budgetBytes)));
        if (rec == null) {
            rec = new RecomputeGreedyPlanner().improve(start, budgetBytes, ctx, cutoff);
            options.add(rec);
        } else { // where it would have been computed
            options.remove(0);
            options.add(rec);
        }
        // Recompute first, then swap or compress what is still in the way.
        if (!stop(cutoff, "before the greedy after recompute", ctx, options, budgetBytes))
            options.add(new Greedy(ctx, EnumSet.allOf(Greedy.Kind.class), false).run(rec, budgetBytes,
                    start.planner(), cutoff, anyFits(cutoff, ctx, options, budgetBytes)));
        if (!stop(cutoff, "before swapping everything", ctx, options, budgetBytes))
            options.add(new VdnnPlanner(true).improve(start, budgetBytes, ctx)); // the lowest peak swapping reaches
        Plan best = Fit.best(ctx, options, budgetBytes);
        if (cutoff.stop("before sharing", anyFits(cutoff, ctx, List.of(best), budgetBytes))) return best;
        return new SharePlanner().improve(best, budgetBytes, ctx);
    }

    private static boolean stop(Cutoff cutoff, String phase, PlanContext ctx, List<Plan> plans, long budget) {
        return cutoff.stop(phase, anyFits(cutoff, ctx, plans, budget));
    }

    /** Whether one of the plans fits; never asked (no look-up, no simulation) without a deadline. */
    private static boolean anyFits(Cutoff cutoff, PlanContext ctx, List<Plan> plans, long budget) {
        if (!cutoff.active()) return false;
        for (Plan p : plans) if (Cutoff.fits(ctx.score(p).peakBytes(), budget)) return true;
        return false;
    }
}

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
        if (Fit.fits(ctx, start, budgetBytes)) return start;
        // The greedy over all three actions, the same without swaps, and the recompute planner: the best that fits.
        List<Plan> options = new ArrayList<>();
        options.add(new Greedy(ctx, EnumSet.allOf(Greedy.Kind.class), false).run(start, budgetBytes, start.planner()));
        options.add(new Greedy(ctx, EnumSet.of(Greedy.Kind.RECOMPUTE, Greedy.Kind.COMPRESS), false).run(start,
                budgetBytes, start.planner()));
        Plan rec = new RecomputeGreedyPlanner().improve(start, budgetBytes, ctx);
        options.add(rec);
        // Recompute first, then swap or compress what is still in the way.
        options.add(new Greedy(ctx, EnumSet.allOf(Greedy.Kind.class), false).run(rec, budgetBytes, start.planner()));
        options.add(new VdnnPlanner(true).improve(start, budgetBytes, ctx)); // the lowest peak swapping alone reaches
        Plan best = Fit.best(ctx, options, budgetBytes);
        return new SharePlanner().improve(best, budgetBytes, ctx);
    }
}

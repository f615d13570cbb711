package memplan.planner;

import memplan.plan.Plan;

import java.util.EnumSet;

/**
 * Capuchin-like swapping: at the simulated peak, swap the tensors with the longest idle time (last forward use to
 * first backward use) relative to their transfer time and size first, with the prefetch issued just early enough
 * for the transfer to hide behind the steps before the use; repeat until the budget is met.
 */
public final class SwapPlanner implements Planner {
    @Override public String name() { return "swap"; }
    @Override public String description() { return "Capuchin-like: swap by idle time and size at the peak, prefetch "
            + "so the transfer hides"; }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        return new Greedy(ctx, EnumSet.of(Greedy.Kind.SWAP), false).run(start, budgetBytes, start.planner());
    }
}

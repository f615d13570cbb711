package memplan.planner;

import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;

/**
 * A memory planner: turns a training schedule into a {@link Plan} (one decision per tensor) that fits a device
 * memory budget with the least predicted overhead.
 *
 * <p>Budgets are in bytes of simulated peak device memory. {@link #MIN_PEAK} (0) asks for the lowest peak the
 * planner can reach (no budget given). Planners compose: {@link #improve} starts from another planner's plan, so
 * {@code share+swap} first shares, then swaps what is still needed.
 */
public interface Planner {
    /** Budget meaning "no budget: as low a peak as this planner reaches". */
    long MIN_PEAK = 0;

    /** Registry name, e.g. "checkpoint-sqrt". */
    String name();

    /** One line for `memplan plan --help` and the docs. */
    String description();

    /** Whether the plans never change results (no lossy codec). */
    default boolean lossless() {
        return true;
    }

    /**
     * Best effort: a valid plan derived from {@code start} aiming at the budget; it may exceed it (the caller checks).
     * Implementations simulate through {@code ctx} so the least peak they saw is recorded.
     */
    Plan improve(Plan start, long budgetBytes, PlanContext ctx);

    /**
     * A plan whose simulated peak is at most the budget, or {@link InfeasibleBudgetException} naming the least peak
     * this planner reached.
     */
    default Plan plan(Schedule schedule, long budgetBytes, DeviceModel device) {
        PlanContext ctx = new PlanContext(schedule, device);
        Plan p = improve(Plan.baseline(schedule), budgetBytes, ctx).withPlanner(name());
        return ctx.requireFits(p, budgetBytes, name());
    }
}

package memplan.planner;

import memplan.plan.Plan;

/** Keeps every tensor and frees it after its last use: what an eager framework does. */
public final class BaselinePlanner implements Planner {
    @Override public String name() { return "baseline"; }
    @Override public String description() { return "keep every tensor, free it after its last use (eager framework)"; }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        return start;
    }
}

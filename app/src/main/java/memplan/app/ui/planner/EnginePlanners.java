package memplan.app.ui.planner;

import memplan.plan.Plan;
import memplan.planner.InfeasibleBudgetException;
import memplan.planner.PlanContext;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;

import java.util.List;

/**
 * The engine's planners ({@link Planners}). When a budget cannot be met the app still shows the planner's best
 * effort (its plan then exceeds the budget, which the panels say), instead of nothing.
 */
public final class EnginePlanners implements PlannerCatalog {
    @Override
    public List<String> names() {
        return Planners.names();
    }

    @Override
    public String describe(String name) {
        try {
            return Planners.named(name).description();
        } catch (IllegalArgumentException e) {
            return name;
        }
    }

    @Override
    public Plan plan(String name, Schedule schedule, long budgetBytes, DeviceModel device) {
        Planner p = Planners.named(name);
        try {
            return p.plan(schedule, budgetBytes, device);
        } catch (InfeasibleBudgetException e) {
            return p.improve(Plan.baseline(schedule), budgetBytes, new PlanContext(schedule, device)).withPlanner(name);
        }
    }
}

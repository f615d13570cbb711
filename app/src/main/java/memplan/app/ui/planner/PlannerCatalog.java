package memplan.app.ui.planner;

import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;

import java.util.List;

/** The planners the app offers: names and a way to make a plan for a budget. */
public interface PlannerCatalog {
    List<String> names();

    /** One line on what a planner does, for tooltips. */
    default String describe(String name) {
        return name;
    }

    Plan plan(String name, Schedule schedule, long budgetBytes, DeviceModel device);
}

package memplan.app.ui.planner;

import memplan.plan.Plan;
import memplan.planner.SolveControl;
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

    /** A name for people, e.g. "Hybrid (greedy)"; the identifier by default. */
    default String displayName(String name) {
        return name;
    }

    /** Whether a planner can do anything for this schedule (vDNN's conv variant needs convolutions). */
    default boolean appliesTo(String name, Schedule schedule) {
        return true;
    }

    Plan plan(String name, Schedule schedule, long budgetBytes, DeviceModel device);

    /** Whether the planner searches with a solver (progress to show, a search that can be stopped). */
    default boolean solverBased(String name) {
        return false;
    }

    /** As {@link #plan(String, Schedule, long, DeviceModel)}; a solver-based planner reports to {@code control}. */
    default Plan plan(String name, Schedule schedule, long budgetBytes, DeviceModel device, SolveControl control) {
        return plan(name, schedule, budgetBytes, device);
    }
}

package memplan.app.ui.planner;

import memplan.plan.Plan;
import memplan.planner.InfeasibleBudgetException;
import memplan.planner.PlanContext;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.planner.SolveControl;
import memplan.planner.SolverLimits;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;

import java.util.List;
import java.util.Locale;
import java.util.Map;

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

    /** Names for people; a planner not listed (renamed, new) shows its identifier with spaces. */
    private static final Map<String, String> DISPLAY = Map.ofEntries(
            Map.entry("baseline", "Baseline (keep all)"), Map.entry("share", "Share buffers"),
            Map.entry("vdnn-all", "vDNN: swap all"), Map.entry("vdnn-conv", "vDNN: swap conv inputs"),
            Map.entry("swap", "Swap (largest first)"), Map.entry("checkpoint-sqrt", "Checkpoints \u221aN"),
            Map.entry("recompute-optimal", "Recompute (optimal)"), Map.entry("recompute-greedy", "Recompute (greedy)"),
            Map.entry("hybrid", "Hybrid"), Map.entry("hybrid-greedy", "Hybrid (greedy)"),
            Map.entry("hybrid-optimal", "Hybrid (optimal)"),
            Map.entry("compress", "Compress (lossless)"), Map.entry("compress-fp16", "Compress fp16 (lossy)"));

    @Override
    public String displayName(String name) {
        if (name == null) return "";
        String d = DISPLAY.get(name);
        return d != null ? d : name.substring(0, 1).toUpperCase(Locale.ROOT) + name.substring(1).replace('-', ' ');
    }

    /** vDNN's convolution variant swaps only convolutions' inputs: nothing to do in a network without any. */
    @Override
    public boolean appliesTo(String name, Schedule schedule) {
        if (!name.startsWith("vdnn-conv")) return true;
        for (var n : schedule.graph().nodes()) if (n.op().type().startsWith("Conv")) return true;
        return false;
    }

    @Override
    public Plan plan(String name, Schedule schedule, long budgetBytes, DeviceModel device) {
        return plan(name, schedule, budgetBytes, device, SolveControl.none());
    }

    @Override
    public boolean solverBased(String name) {
        return Planners.solverBased(name);
    }

    @Override
    public Plan plan(String name, Schedule schedule, long budgetBytes, DeviceModel device, SolveControl control) {
        Planner p = Planners.named(name, SolverLimits.DEFAULT, control);
        try {
            return p.plan(schedule, budgetBytes, device);
        } catch (InfeasibleBudgetException e) {
            return p.improve(Plan.baseline(schedule), budgetBytes, new PlanContext(schedule, device)).withPlanner(name);
        }
    }
}

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

    /** Names for people; a planner not listed (renamed, new) shows its identifier with spaces. */
    private static final java.util.Map<String, String> DISPLAY = java.util.Map.ofEntries(
            java.util.Map.entry("baseline", "Baseline (keep all)"), java.util.Map.entry("share", "Share buffers"),
            java.util.Map.entry("vdnn-all", "vDNN: swap all"), java.util.Map.entry("vdnn-conv", "vDNN: swap conv inputs"),
            java.util.Map.entry("swap", "Swap (largest first)"), java.util.Map.entry("checkpoint-sqrt", "Checkpoints \u221aN"),
            java.util.Map.entry("recompute-optimal", "Recompute (optimal)"),
            java.util.Map.entry("recompute-greedy", "Recompute (greedy)"), java.util.Map.entry("hybrid", "Hybrid"),
            java.util.Map.entry("hybrid-greedy", "Hybrid (greedy)"), java.util.Map.entry("compress", "Compress (lossless)"),
            java.util.Map.entry("compress-fp16", "Compress fp16 (lossy)"));

    @Override
    public String displayName(String name) {
        if (name == null) return "";
        String d = DISPLAY.get(name);
        return d != null ? d : name.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + name.substring(1).replace('-', ' ');
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
        Planner p = Planners.named(name);
        try {
            return p.plan(schedule, budgetBytes, device);
        } catch (InfeasibleBudgetException e) {
            return p.improve(Plan.baseline(schedule), budgetBytes, new PlanContext(schedule, device)).withPlanner(name);
        }
    }
}

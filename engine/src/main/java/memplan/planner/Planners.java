package memplan.planner;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** The planners by name. Names joined by '+' compose: "share+swap" shares first, then swaps. */
public final class Planners {
    private static final Map<String, Supplier<Planner>> ALL = new LinkedHashMap<>();

    static {
        ALL.put("baseline", BaselinePlanner::new);
        ALL.put("share", SharePlanner::new);
        ALL.put("vdnn-all", () -> new VdnnPlanner(true));
        ALL.put("vdnn-conv", () -> new VdnnPlanner(false));
        ALL.put("swap", SwapPlanner::new);
        ALL.put("checkpoint-sqrt", CheckpointSqrtPlanner::new);
        ALL.put("recompute-greedy", RecomputeGreedyPlanner::new);
        ALL.put("recompute-optimal", RecomputeOptimalPlanner::new);
        ALL.put("hybrid-greedy", HybridGreedyPlanner::new);
        ALL.put("hybrid-optimal", HybridOptimalPlanner::new);
        ALL.put("compress", () -> new CompressPlanner(false));
        ALL.put("compress-fp16", () -> new CompressPlanner(true));
    }

    /** A composition longer than this is certainly a mistake (each stage re-plans the whole schedule). */
    static final int MAX_STAGES = 16;

    private Planners() {
    }

    /** Whether a planner (or a part of a composition) searches with a solver: it has a time limit and a gap. */
    public static boolean solverBased(String name) {
        if (name == null) return false;
        for (String part : name.split("\\+")) if (SOLVER_BASED.contains(part.trim())) return true;
        return false;
    }

    private static final List<String> SOLVER_BASED = List.of("recompute-optimal", "hybrid-optimal");

    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    /** The lossless planners (every name but compress-fp16). */
    public static List<String> losslessNames() {
        List<String> out = new ArrayList<>();
        for (String n : ALL.keySet()) if (ALL.get(n).get().lossless()) out.add(n);
        return out;
    }

    public static Planner named(String name) {
        return named(name, SolverLimits.DEFAULT);
    }

    /** A planner by name; solver-based planners (in compositions too) search within the given limits. */
    public static Planner named(String name, SolverLimits limits) {
        return named(name, limits, SolveControl.none());
    }

    /** As {@link #named(String, SolverLimits)}; solver-based planners report to and obey {@code control}. */
    public static Planner named(String name, SolverLimits limits, SolveControl control) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("no planner named (planners: "
                + String.join(", ", names()) + ")");
        if (name.contains("+")) {
            String[] parts = name.split("\\+", -1); // -1 keeps empty parts: "hybrid+" is an error, not "hybrid"
            if (parts.length > MAX_STAGES)
                throw new IllegalArgumentException("planner '" + name + "' composes " + parts.length
                        + " planners, more than " + MAX_STAGES);
            for (String part : parts) // the shape of the name first, then what each part names
                if (part.isBlank())
                    throw new IllegalArgumentException("planner '" + name + "' has an empty name before or after a '+'"
                            + " (join names with '+', e.g. share+swap)");
            List<Planner> stages = new ArrayList<>();
            for (String part : parts) stages.add(named(part.trim(), limits, control));
            return new ComposedPlanner(stages);
        }
        if (name.trim().equals("recompute-optimal")) return new RecomputeOptimalPlanner(limits, control);
        if (name.trim().equals("hybrid-optimal")) return new HybridOptimalPlanner(limits, control);
        Supplier<Planner> p = ALL.get(name.trim());
        if (p == null)
            throw new IllegalArgumentException("unknown planner '" + name + "' (planners: " + String.join(", ", names())
                    + "; join names with '+' to compose, e.g. share+swap)");
        return p.get();
    }
}

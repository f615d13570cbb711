package memplan.planner;

import memplan.plan.Plan;

import java.util.ArrayList;
import java.util.List;

/** Planners applied in turn, each starting from the previous one's plan: e.g. "share+swap". */
public final class ComposedPlanner implements Planner {
    private final List<Planner> stages;

    public ComposedPlanner(List<Planner> stages) {
        if (stages.isEmpty()) throw new IllegalArgumentException("a composed planner needs at least one stage");
        this.stages = List.copyOf(stages);
    }

    @Override
    public String name() {
        List<String> n = new ArrayList<>();
        for (Planner p : stages) n.add(p.name());
        return String.join("+", n);
    }

    @Override public String description() { return "each stage starts from the previous stage's plan"; }

    @Override
    public boolean lossless() {
        for (Planner p : stages) if (!p.lossless()) return false;
        return true;
    }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        Plan p = start;
        for (Planner st : stages) p = st.improve(p, budgetBytes, ctx);
        return p;
    }
}

package memplan.planner;

import memplan.plan.Plan;

import java.util.List;

/**
 * Least added recompute time under the budget, chosen by Google OR-Tools' CP-SAT solver ({@link RematModel}): which
 * activations to keep and, for the rest, before which steps to re-run their producers; a tensor may be rebuilt from
 * rebuilt tensors, freed after its use and rebuilt again (as revolve and Checkmate schedules do), up to
 * {@link SolverLimits#maxRebuilds()} re-runs per op. The greedy plan ({@code recompute-greedy}) is the warm start;
 * the search stops at the time limit or once the proven gap is within the target. The returned plan is simulated like
 * any other; if the greedy's plan simulates faster (the solver found nothing better in time, or its model disagrees
 * with the simulator), the greedy's plan is returned and {@link #report()} says so.
 */
public final class RecomputeOptimalPlanner implements SolverPlanner {
    private final SolverLimits limits;
    private final SolveControl control;
    private SolveReport report;

    public RecomputeOptimalPlanner() {
        this(SolverLimits.DEFAULT, SolveControl.none());
    }

    /** Searches within {@code limits}; {@code control} sees the progress and may stop the search early. */
    public RecomputeOptimalPlanner(SolverLimits limits, SolveControl control) {
        this.limits = limits;
        this.control = control == null ? SolveControl.none() : control;
    }

    @Override public String name() { return "recompute-optimal"; }
    @Override
    public String description() {
        return "least recompute time under the budget, by the CP-SAT solver (time limit, proven gap)";
    }

    @Override
    public SolveReport report() {
        return report;
    }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        report = null;
        Deadline deadline = Deadline.after(limits.timeLimitSeconds());
        RematModel.loadSolverInBackground();
        if (Fit.fits(ctx, start, budgetBytes)) return start;
        SolverSearch.Result r = SolverSearch.run(start, budgetBytes, ctx, limits, control, false, List.of(),
                deadline);
        report = r.report();
        return r.plan();
    }
}

package memplan.planner;

import memplan.plan.Plan;

import java.util.List;

/**
 * Recompute and swap chosen together by the CP-SAT solver ({@link RematModel} with swaps): per activation keep it,
 * re-run its producer before chosen steps, or copy it to host memory and back on the copy stream, with the
 * lowering's automatic swap timings. Transfers do not overlap one another on the copy stream and overlap compute as
 * the baseline's step times allow; a transfer that cannot finish in its window costs the stall. Warm start from
 * {@code recompute-greedy}; the plan returned is the best, as simulated, of the solver's, the greedy recompute plan
 * and {@code hybrid-greedy}'s, so it is never slower than either greedy. Lossless compression is a third choice
 * where a codec fits (Gist's 1-bit ReLU masks): the encoded bytes are held over the idle window, and the codec's
 * encode and decode time is the cost.
 */
public final class HybridOptimalPlanner implements SolverPlanner {
    private final SolverLimits limits;
    private final SolveControl control;
    private SolveReport report;

    public HybridOptimalPlanner() {
        this(SolverLimits.DEFAULT, SolveControl.none());
    }

    /** Searches within {@code limits}; {@code control} sees the progress and may stop the search early. */
    public HybridOptimalPlanner(SolverLimits limits, SolveControl control) {
        this.limits = limits;
        this.control = control == null ? SolveControl.none() : control;
    }

    @Override public String name() { return "hybrid-optimal"; }
    @Override
    public String description() {
        return "recompute, swap and lossless compression together by the CP-SAT solver (time limit, proven gap)";
    }

    @Override
    public SolveReport report() {
        return report;
    }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        report = null;
        Deadline deadline = Deadline.after(limits.timeLimitSeconds()); // the greedy rivals spend the limit too
        RematModel.loadSolverInBackground();
        if (Fit.fits(ctx, start, budgetBytes)) return start;
        // The warm start may spend half the limit, the hybrid greedy the rest (each stops only with a fitting plan);
        // the hybrid greedy plans from the same recompute plan, so it is computed once.
        Cutoff cutoff = Cutoff.at(deadline);
        Plan warm = new RecomputeGreedyPlanner().improve(start, budgetBytes, ctx, cutoff.part(0.5));
        Plan hybrid = new HybridGreedyPlanner().improve(start, budgetBytes, ctx, cutoff, warm);
        SolverSearch.Result r = SolverSearch.run(start, budgetBytes, ctx, limits, control, true, warm,
                List.of(hybrid), deadline, cutoff);
        report = r.report();
        return r.plan();
    }
}

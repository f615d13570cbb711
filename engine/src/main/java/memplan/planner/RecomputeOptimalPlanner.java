package memplan.planner;

import memplan.plan.Plan;
import memplan.plan.PlanProblem;
import memplan.plan.PlanValidator;
import memplan.sim.SimResult;

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
public final class RecomputeOptimalPlanner implements Planner {
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

    /** What the last {@link #improve} found, or null before it ran or when the start plan already fit. */
    public SolveReport report() {
        return report;
    }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        report = null;
        if (Fit.fits(ctx, start, budgetBytes)) return start;
        Plan greedy = new RecomputeGreedyPlanner().improve(start, budgetBytes, ctx);
        SimResult gr = ctx.simulate(greedy);
        RematModel m = new RematModel(ctx, start, limits.maxRebuilds());
        long budget = budgetBytes;
        Plan hintPlan = greedy;
        double time = limits.timeLimitSeconds();
        String note = "";
        if (budgetBytes <= MIN_PEAK) {
            // No budget: first the least peak the model reaches, then the least time at that peak.
            m.build(-1, ctx.baseline().peakBytes());
            m.minimizeCapacity();
            m.hint(greedy);
            RematModel.Outcome low = m.solve(time / 2, 0, control);
            time -= low.wall();
            budget = gr.peakBytes();
            note = "least peak in the model " + low.capacity() + " B (" + low.status() + "); ";
            if (low.capacity() >= 0) {
                // The simulator judges the lower peak; the least time is then sought at that peak, from that plan.
                Plan lowPlan = m.planFor(low.stages(), start.planner());
                if (PlanValidator.problems(lowPlan, ctx.uses).isEmpty()) {
                    long peak = ctx.simulate(lowPlan).peakBytes();
                    if (peak < budget) {
                        budget = peak;
                        hintPlan = lowPlan;
                    }
                }
            }
        }
        control.reset();
        m.build(budget, 0);
        m.minimizeCost();
        if (ctx.simulate(hintPlan).peakBytes() <= budget) m.hint(hintPlan);
        RematModel.Outcome out = m.solve(Math.max(0.1, time), limits.gapTarget(), control);
        double base = ctx.baselineSeconds();
        Plan best = greedy;
        SimResult bestR = gr;
        String source = "greedy";
        boolean found = out.status().name().equals("OPTIMAL") || out.status().name().equals("FEASIBLE");
        if (found) {
            Plan solved = m.planFor(out.stages(), start.planner());
            List<PlanProblem> problems = PlanValidator.problems(solved, ctx.uses);
            if (!problems.isEmpty()) note += "the solver's plan does not validate (" + problems.get(0) + "); ";
            else {
                SimResult r = ctx.simulate(solved);
                double modelled = out.objective(), simulated = r.iterationSeconds() - base;
                if (Math.abs(modelled - simulated) > 1e-9 + 1e-6 * Math.abs(simulated))
                    note += String.format("solver objective %.6g s, simulated %.6g s; ", modelled, simulated);
                if (r.peakBytes() > budget && budget > MIN_PEAK)
                    note += "the solver's plan peaks at " + r.peakBytes() + " B in the simulator, over the budget; ";
                if (!RecomputeGreedyPlanner.better(bestR, r, budget)) {
                    best = solved;
                    bestR = r;
                    source = "solver";
                }
            }
        }
        if (hintPlan != greedy && source.equals("greedy")) { // no budget: the first phase's lower peak wins
            best = hintPlan;
            bestR = ctx.simulate(hintPlan);
            source = "solver";
        }
        if (control.stopRequested()) note += "search stopped on request; ";
        double bound = Math.max(0, out.bound());
        double inc = bestR.iterationSeconds() - base;
        double gap = inc <= 1e-15 ? 0 : Math.max(0, (inc - bound) / inc);
        report = new SolveReport(out.status().name(), Double.isNaN(out.objective()) ? inc : out.objective(), bound, gap,
                out.wall(), inc, source, note.isEmpty() ? "" : note.substring(0, note.length() - 2));
        control.finished(report);
        return best;
    }
}

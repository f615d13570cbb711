package memplan.planner;

import memplan.plan.Plan;
import memplan.plan.PlanProblem;
import memplan.plan.PlanValidator;
import memplan.sim.SimResult;

import java.util.List;

import static memplan.planner.Planner.MIN_PEAK;

/**
 * The search behind the solver-based planners: the rematerialisation model ({@link RematModel}, with swaps for
 * hybrid-optimal), warm-started from the greedy, then judged by the simulator against the greedy plans.
 */
final class SolverSearch {
    private SolverSearch() {
    }

    record Result(Plan plan, SolveReport report) {
    }

    /**
     * Solves from {@code start}; {@code swaps}: recompute and swap together. The greedy recompute plan is the warm
     * start; it and the {@code rivals} (other planners' plans) are returned instead when they simulate better.
     */
    static Result run(Plan start, long budgetBytes, PlanContext ctx, SolverLimits limits, SolveControl control,
                      boolean swaps, List<Plan> rivals) {
        Plan warm = new RecomputeGreedyPlanner().improve(start, budgetBytes, ctx);
        Plan greedy = warm;
        SimResult gr = ctx.simulate(greedy);
        for (Plan rival : rivals) {
            SimResult rr = ctx.simulate(rival);
            if (RecomputeGreedyPlanner.better(rr, gr, budgetBytes)) {
                greedy = rival;
                gr = rr;
            }
        }
        RematModel m = new RematModel(ctx, start, limits.maxRebuilds());
        if (swaps) { // hybrid-optimal: swaps and lossless compression too
            m.allowSwaps();
            m.allowCompression();
        }
        long budget = budgetBytes;
        Plan hintPlan = warm;
        double time = limits.timeLimitSeconds();
        String note = "";
        if (budgetBytes <= MIN_PEAK) {
            // No budget: first the least peak the model reaches, then the least time at that peak.
            m.build(-1, ctx.baseline().peakBytes());
            m.minimizeCapacity();
            m.hint(warm);
            RematModel.Outcome low = m.solve(time / 2, 0, control);
            time -= low.wall();
            budget = gr.peakBytes();
            note = "least peak in the model " + low.capacity() + " B (" + low.status() + "); ";
            if (low.capacity() >= 0) {
                // The simulator judges the lower peak; the least time is then sought at that peak, from that plan.
                Plan lowPlan = m.planFor(low.stages(), low.swapped(), low.compressed(), start.planner());
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
            Plan solved = m.planFor(out.stages(), out.swapped(), out.compressed(), start.planner());
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
        if (hintPlan != warm && source.equals("greedy")) { // no budget: the first phase's lower peak wins
            best = hintPlan;
            bestR = ctx.simulate(hintPlan);
            source = "solver";
        }
        if (control.stopRequested()) note += "search stopped on request; ";
        double bound = Math.max(0, out.bound());
        double inc = bestR.iterationSeconds() - base;
        double gap = inc <= 1e-15 ? 0 : Math.max(0, (inc - bound) / inc);
        double incumbent = Double.isNaN(out.objective()) ? inc : out.objective();
        SolveReport report = new SolveReport(out.status().name(), incumbent, bound, gap, out.wall(), inc, source,
                note.isEmpty() ? "" : note.substring(0, note.length() - 2));
        control.finished(report);
        return new Result(best, report);
    }
}

package memplan.planner;

import memplan.plan.Plan;
import memplan.plan.PlanProblem;
import memplan.plan.PlanValidator;
import memplan.sim.SimResult;

import java.util.List;
import java.util.Locale;

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
        return run(start, budgetBytes, ctx, limits, control, swaps, rivals,
                Deadline.after(limits.timeLimitSeconds()));
    }

    /**
     * As above, all within {@code deadline} (begun before the rivals were planned): the warm start, building the
     * model, presolve and search. Past it the best of the greedy plans is returned and the report says where the
     * time ran out.
     */
    static Result run(Plan start, long budgetBytes, PlanContext ctx, SolverLimits limits, SolveControl control,
                      boolean swaps, List<Plan> rivals, Deadline deadline) {
        Cutoff cutoff = Cutoff.at(deadline);
        Plan warm = new RecomputeGreedyPlanner().improve(start, budgetBytes, ctx, cutoff);
        return run(start, budgetBytes, ctx, limits, control, swaps, warm, rivals, deadline, cutoff);
    }

    /**
     * As above from {@code warm}, the recompute-greedy plan from {@code start}, planned within {@code deadline} by
     * {@code cutoff} (so were the rivals): the report says where it cut them short.
     */
    static Result run(Plan start, long budgetBytes, PlanContext ctx, SolverLimits limits, SolveControl control,
                      boolean swaps, Plan warm, List<Plan> rivals, Deadline deadline, Cutoff cutoff) {
        Plan greedy = warm;
        PlanContext.Score gr;
        Deadline forSearch = deadline;
        if (deadline.passed()) gr = ctx.score(greedy); // no search: nothing to keep time for
        else {
            long s0 = System.nanoTime();
            SimResult warmR = ctx.simulate(greedy); // timed, not looked up: what judging the solver's plan costs
            gr = PlanContext.Score.of(warmR);
            // Judging the solver's plan afterwards takes a validation and a simulation or two: keep time for them.
            forSearch = deadline.less(3 * (System.nanoTime() - s0) / 1e9);
        }
        for (Plan rival : rivals) {
            PlanContext.Score rr = ctx.score(rival);
            if (RecomputeGreedyPlanner.better(rr, gr, budgetBytes)) {
                greedy = rival;
                gr = rr;
            }
        }
        double greedySeconds = deadline.elapsedSeconds();
        String greedyPhase = String.format(Locale.ROOT, "greedy %.2f s", greedySeconds)
                + (cutoff.cut() ? " (cut short " + cutoff.phase() + ")" : "");
        String cutNote = cutoff.cut() ? "the greedy warm start was cut short at the limit, " + cutoff.phase()
                + ", with a plan in hand; " : "";
        // A greedy plan that adds no time is optimal already (the model's costs are never negative): no search.
        if (gr.iterationSeconds() - ctx.baselineSeconds() <= 1e-15 && budgetBytes > MIN_PEAK) {
            SolveReport done = new SolveReport("OPTIMAL", 0, 0, 0, deadline.elapsedSeconds(), 0, "greedy",
                    "the greedy's plan adds no time: nothing to search", greedyPhase + String.format(Locale.ROOT,
                    ", no search, total %.2f s of %.1f s", deadline.elapsedSeconds(), limits.timeLimitSeconds()));
            control.finished(done);
            return new Result(greedy, done);
        }
        long budget = budgetBytes;
        Plan hintPlan = warm;
        String note = "";
        RematModel m = null;
        RematModel.Outcome out = null;
        double buildSeconds = 0, prepSeconds = 0, hintSeconds = 0;
        try {
            deadline.check("in the greedy warm start");
            long b0 = System.nanoTime();
            m = new RematModel(ctx, start, limits.maxRebuilds());
            prepSeconds = (System.nanoTime() - b0) / 1e9;
            if (swaps) { // hybrid-optimal: swaps and lossless compression too
                m.allowSwaps();
                m.allowCompression();
            }
            if (budgetBytes <= MIN_PEAK) {
                // No budget: first the least peak the model reaches, then the least time at that peak.
                m.build(-1, ctx.baseline().peakBytes(), deadline);
                m.minimizeCapacity();
                m.hint(warm);
                RematModel.Outcome low = m.solve(forSearch.part(0.5), 0, control);
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
            m.build(budget, 0, deadline);
            m.minimizeCost();
            deadline.check("while building the model");
            long h0 = System.nanoTime();
            if (ctx.score(hintPlan).peakBytes() <= budget) m.hint(hintPlan);
            hintSeconds = (System.nanoTime() - h0) / 1e9;
            buildSeconds = (h0 - b0) / 1e9;
            deadline.check("while hinting the greedy's plan");
            out = m.solve(forSearch, limits.gapTarget(), control);
            if (!out.presolved()) note += "presolve skipped (it would have taken most of the time left); ";
        } catch (Deadline.Passed e) {
            note += "no solution in time: the limit passed " + e.phase() + " ("
                    + String.format(Locale.ROOT, "%.1f s", deadline.elapsedSeconds()) + "); ";
        }
        note += cutNote;
        TimeIndexedBound.Result lp = m == null ? null : m.lpBound();
        String lpPhase = lp == null ? "" : String.format(Locale.ROOT, ", LP bound %.2f s (%d variables, %s, %.4g ms)",
                lp.seconds(), lp.variables(), lp.status(), lp.bound() / 1e9);
        String phases = String.format(Locale.ROOT, "%s, model %.2f s (prepare %.2f s, cuts %.2f s at %d"
                        + " steps%s), hint %.2f s, solve %.2f s, total %.2f s of %.1f s", greedyPhase, buildSeconds,
                prepSeconds, m == null ? 0 : m.cutSeconds(), m == null ? 0 : m.cutSteps(), lpPhase, hintSeconds,
                out == null ? 0 : out.wall(), deadline.elapsedSeconds(), limits.timeLimitSeconds());
        double base = ctx.baselineSeconds();
        Plan best = greedy;
        PlanContext.Score bestR = gr;
        String source = "greedy";
        String status = out == null ? "UNKNOWN" : out.status().name();
        boolean found = status.equals("OPTIMAL") || status.equals("FEASIBLE");
        if (status.equals("INFEASIBLE")) note += "the model has no plan within the budget; ";
        else if (out != null && !found && !control.stopRequested())
            note += "no solution in time: CP-SAT found none within the limit; ";
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
                PlanContext.Score rs = PlanContext.Score.of(r);
                if (!RecomputeGreedyPlanner.better(bestR, rs, budget)) {
                    best = solved;
                    bestR = rs;
                    source = "solver";
                }
            }
        }
        if (hintPlan != warm && source.equals("greedy")) { // no budget: the first phase's lower peak wins
            best = hintPlan;
            bestR = ctx.score(hintPlan);
            source = "solver";
        }
        if (control.stopRequested()) note += "search stopped on request; ";
        double bound = out == null ? 0 : Math.max(0, out.bound());
        double inc = bestR.iterationSeconds() - base;
        double gap = inc <= 1e-15 ? 0 : Math.max(0, (inc - bound) / inc);
        double incumbent = out == null || Double.isNaN(out.objective()) ? inc : out.objective();
        SolveReport report = new SolveReport(status, incumbent, bound, gap, deadline.elapsedSeconds(), inc, source,
                note.isEmpty() ? "" : note.substring(0, note.length() - 2), phases);
        control.finished(report);
        return new Result(best, report);
    }
}

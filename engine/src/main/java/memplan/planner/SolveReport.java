package memplan.planner;

/**
 * What a solver-based planner found. Times are seconds of added (recompute) time per iteration in the solver's
 * model: {@code incumbentSeconds} of the best plan it found, {@code boundSeconds} the most it proved no plan can
 * beat, {@code gap} = (incumbent - bound) / incumbent (0 when proven optimal). {@code simulatedSeconds} is the
 * added time the simulator predicts for the plan returned, the judge; {@code source} says whether that plan is the
 * solver's or the greedy's (kept when the solver found nothing better in time) and {@code note} why they differ, or
 * where the time ran out. {@code wallSeconds} is the whole planner's time against its limit: the greedy warm start,
 * building the model, presolve and search. {@code status} is CP-SAT's ({@code UNKNOWN}: no solution in time, also
 * when the limit passed before the search began). {@code phases} says where the time went (greedy, model, cuts,
 * hint, solve), for tuning.
 */
public record SolveReport(String status, double incumbentSeconds, double boundSeconds, double gap, double wallSeconds,
                          double simulatedSeconds, String source, String note, String phases) {

    public boolean optimal() {
        return "OPTIMAL".equals(status);
    }
}

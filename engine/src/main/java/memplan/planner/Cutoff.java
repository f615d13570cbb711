package memplan.planner;

/**
 * Where a greedy planner run as a solver planner's warm start stops once the solver planner's deadline has passed.
 * The deadline ends the search for a better plan, never the search for a first plan within the budget (a planner
 * must return one if it can): past it, a phase is skipped or ended only while a fitting plan is in hand. The
 * planners check between simulations, each O(length of the schedule), so a check costs nothing next to the work.
 * Remembers the first place it stopped, for the solver planner's report. The greedy planners used on their own run
 * with {@link #none()} and plan exactly as without it.
 */
final class Cutoff {
    private final Deadline deadline;
    private final Cutoff whole;
    private String phase;

    private Cutoff(Deadline deadline, Cutoff whole) {
        this.deadline = deadline;
        this.whole = whole;
    }

    /** Never stops. */
    static Cutoff none() {
        return new Cutoff(null, null);
    }

    static Cutoff at(Deadline deadline) {
        return new Cutoff(deadline, null);
    }

    /** For a part of the work: at {@code share} of the time left now; its stops are this one's too. */
    Cutoff part(double share) {
        return new Cutoff(deadline == null ? null : deadline.part(share), this);
    }

    /**
     * Whether to skip or end {@code phase} ("in ...") now: the deadline has passed and {@code fits} (a plan within
     * the budget, or any plan when there is no budget, is in hand).
     */
    boolean stop(String phase, boolean fits) {
        if (!fits || deadline == null || !deadline.passed()) return false;
        for (Cutoff c = this; c != null; c = c.whole) if (c.phase == null) c.phase = phase;
        return true;
    }

    /** Whether there is a deadline at all ({@link #none()} has none). */
    boolean active() {
        return deadline != null;
    }

    /** Whether the deadline has passed (the planner may then reorder what it tries towards a first fitting plan). */
    boolean passed() {
        return deadline != null && deadline.passed();
    }

    /** Whether a plan with this peak is one the caller may return: within the budget, or there is no budget. */
    static boolean fits(long peakBytes, long budgetBytes) {
        return budgetBytes <= Planner.MIN_PEAK || peakBytes <= budgetBytes;
    }

    /** Where the first stop was ("in ..."), or null if the planner was never cut short. */
    String phase() {
        return phase;
    }

    boolean cut() {
        return phase != null;
    }
}

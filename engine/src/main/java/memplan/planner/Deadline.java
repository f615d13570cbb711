package memplan.planner;

/**
 * When a solver-based planner must be done: its time limit, counted from when it started planning. The greedy warm
 * start, building the model (and its cuts), presolve and the search all spend the same limit.
 */
record Deadline(long startNanos, long limitNanos) {

    /** Thrown where the planner checks the clock and the limit has passed; {@code phase} says where ("in ..."). */
    static final class Passed extends RuntimeException {
        private final String phase;

        Passed(String phase) {
            super("the time limit passed " + phase, null, false, false);
            this.phase = phase;
        }

        String phase() {
            return phase;
        }
    }

    static Deadline after(double seconds) {
        return new Deadline(System.nanoTime(), Math.round(seconds * 1e9));
    }

    double elapsedSeconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /** Seconds left, never negative. */
    double leftSeconds() {
        return Math.max(0, (limitNanos - (System.nanoTime() - startNanos)) / 1e9);
    }

    boolean passed() {
        return System.nanoTime() - startNanos >= limitNanos;
    }

    /** A cheap check for loops that build the model: throws {@link Passed} once the limit has passed. */
    void check(String phase) {
        if (passed()) throw new Passed(phase);
    }

    /** This deadline brought forward by {@code seconds} (time kept for the work after a search). */
    Deadline less(double seconds) {
        return new Deadline(startNanos, Math.max(0, limitNanos - Math.round(seconds * 1e9)));
    }

    /** A deadline for a part of the work: {@code share} of what is left now, and never past this one. */
    Deadline part(double share) {
        long now = System.nanoTime();
        long left = Math.max(0, limitNanos - (now - startNanos));
        return new Deadline(now, Math.round(left * share));
    }
}

package memplan.planner;

/**
 * How long a solver-based planner may search and when it may stop early: after {@code timeLimitSeconds} of wall
 * time, or once the incumbent is proven within {@code gapTarget} (relative) of the best possible plan.
 * {@code maxRebuilds} bounds how often one op may be re-run in an iteration (Moccasin's C - 1).
 */
public record SolverLimits(double timeLimitSeconds, double gapTarget, int maxRebuilds) {
    public static final SolverLimits DEFAULT = new SolverLimits(30, 0.01, 2);

    public SolverLimits {
        if (!(timeLimitSeconds > 0))
            throw new IllegalArgumentException("time limit must be positive, got " + timeLimitSeconds);
        if (!(gapTarget >= 0 && gapTarget < 1))
            throw new IllegalArgumentException("gap target must lie in [0, 1), got " + gapTarget);
        if (maxRebuilds < 1)
            throw new IllegalArgumentException("an op must be allowed at least one rebuild, got " + maxRebuilds);
    }

    public SolverLimits withTimeLimit(double seconds) {
        return new SolverLimits(seconds, gapTarget, maxRebuilds);
    }

    public SolverLimits withGapTarget(double gap) {
        return new SolverLimits(timeLimitSeconds, gap, maxRebuilds);
    }

    public SolverLimits withMaxRebuilds(int n) {
        return new SolverLimits(timeLimitSeconds, gapTarget, n);
    }
}

package memplan.planner;

/** A planner that searches with a solver: after planning it can say what it proved ({@link SolveReport}). */
public interface SolverPlanner extends Planner {
    /** What the last plan's search found, or null before it ran or when the start plan already fit. */
    SolveReport report();
}

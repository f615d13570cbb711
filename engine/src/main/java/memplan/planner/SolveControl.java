package memplan.planner;

import com.google.ortools.sat.CpSolver;

import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Watches and steers a solver-based planner's search from another thread: the incumbent and the best bound as they
 * improve, and a stop that ends the search early. A stopped planner still returns the best plan found so far (the
 * greedy warm start at least), and its {@link SolveReport} gives the gap it had reached.
 */
public final class SolveControl {
    /** Called on the solver's thread whenever the incumbent or the bound improves (seconds of added time). */
    public interface Listener {
        void improved(double incumbentSeconds, double boundSeconds, double wallSeconds);

        /** Called once the planner has judged the solver's plan (stopped or not). */
        default void finished(SolveReport report) {
        }
    }

    private static final long POLL_MILLIS = 100;

    private final Listener listener;
    private final BooleanSupplier stopWhen;
    private volatile boolean stopped;
    private CpSolver active;
    private double incumbent = Double.NaN, bound = 0;

    /** Reports to {@code listener} (may be null); the search also stops once {@code stopWhen} (may be null) holds. */
    public SolveControl(Listener listener, BooleanSupplier stopWhen) {
        this.listener = listener;
        this.stopWhen = stopWhen;
    }

    public static SolveControl none() {
        return new SolveControl(null, null);
    }

    /** Ends the running search (and any later one by this control) with the best plan found so far. */
    public void stop() {
        CpSolver s;
        synchronized (this) {
            stopped = true;
            s = active;
        }
        if (s != null) s.stopSearch();
    }

    public boolean stopRequested() {
        if (!stopped && stopWhen != null && stopWhen.getAsBoolean()) stopped = true;
        return stopped;
    }

    /**
     * Runs one search under this control. A watcher asks the solver to stop every poll once a stop is requested
     * (the solver only takes the request once its search has begun, so one call could be lost).
     */
    <T> T during(CpSolver solver, Supplier<T> search) {
        synchronized (this) {
            active = solver;
        }
        Thread watcher = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    if (stopRequested()) solver.stopSearch();
                    Thread.sleep(POLL_MILLIS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "memplan-solve-watch");
        watcher.setDaemon(true);
        watcher.start();
        try {
            return search.get();
        } finally {
            watcher.interrupt();
            synchronized (this) {
                active = null;
            }
        }
    }

    synchronized void incumbent(double seconds, double boundSeconds, double wall) {
        incumbent = seconds;
        bound = Math.max(bound, boundSeconds);
        if (listener != null) listener.improved(incumbent, bound, wall);
    }

    void finished(SolveReport report) {
        if (listener != null) listener.finished(report);
    }

    /** Forgets the last search's numbers (a new phase starts). */
    synchronized void reset() {
        incumbent = Double.NaN;
        bound = 0;
    }
}

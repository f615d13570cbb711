package memplan.exec;

/** Told about a run as it goes; called on the thread that runs it. */
public interface ProgressListener {
    /** Fraction of the whole run done, 0..1, and a short description. */
    default void progress(double fraction, String what) {
    }

    default void iterationDone(IterationResult r) {
    }

    ProgressListener NONE = new ProgressListener() {
    };
}

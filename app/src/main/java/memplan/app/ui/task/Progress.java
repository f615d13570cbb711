package memplan.app.ui.task;

import java.util.concurrent.CancellationException;

/** What a piece of background work may report while it runs, and how it learns that it was cancelled. */
public interface Progress {
    /** done of total units; total &lt;= 0 means indeterminate. */
    void update(double done, double total);

    void message(String text);

    boolean isCancelled();

    /** Throws {@link java.util.concurrent.CancellationException} when the work was cancelled. */
    default void checkCancelled() {
        if (isCancelled()) throw new CancellationException("cancelled");
    }

    Progress NONE = new Progress() {
        @Override public void update(double done, double total) { }
        @Override public void message(String text) { }
        @Override public boolean isCancelled() { return false; }
    };
}

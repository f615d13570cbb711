package memplan.app.ui.task;

import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyStringProperty;

import java.util.function.Consumer;

/**
 * The one way long work is started. The app runs work on a background thread ({@link FxTaskRunner}); tests run it on
 * the calling thread ({@link DirectTaskRunner}). Callbacks always run on the thread that owns the view models (the
 * JavaFX thread in the app). Progress widgets bind to the properties here.
 */
public interface TaskRunner {
    /**
     * Starts work. {@code onDone} gets its value, {@code onError} its exception (not called on cancel). Returns a
     * handle that can cancel it.
     */
    default <T> Handle run(String title, Work<T> work, Consumer<? super T> onDone,
            Consumer<? super Throwable> onError) {
        return run(title, work, onDone, onError, () -> { });
    }

    /** As above; {@code onCancelled} runs (on the view-model thread) when the work was cancelled. */
    <T> Handle run(String title, Work<T> work, Consumer<? super T> onDone,
            Consumer<? super Throwable> onError, Runnable onCancelled);

    /** True while any work started here is running. */
    ReadOnlyBooleanProperty runningProperty();

    /** Progress of the latest work: 0..1, or -1 while indeterminate. */
    ReadOnlyDoubleProperty progressProperty();

    /** Title and message of the latest work. */
    ReadOnlyStringProperty messageProperty();

    /** Runs a small update on the view-model thread (from work that reports as it goes). */
    void post(Runnable update);

    /** Cancels the latest work that is still running. */
    void cancelCurrent();

    interface Handle {
        void cancel();

        boolean isDone();
    }
}

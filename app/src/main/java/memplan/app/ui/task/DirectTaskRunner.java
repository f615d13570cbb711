package memplan.app.ui.task;

import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

import java.util.concurrent.CancellationException;
import java.util.function.Consumer;

/** Runs work at once on the calling thread: for tests and for view-model code that must be deterministic. */
public final class DirectTaskRunner implements TaskRunner {
    private final ReadOnlyBooleanWrapper running = new ReadOnlyBooleanWrapper(false);
    private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(0);
    private final ReadOnlyStringWrapper message = new ReadOnlyStringWrapper("");
    private volatile boolean cancelled;

    @Override
    public <T> Handle run(String title, Work<T> work, Consumer<? super T> onDone, Consumer<? super Throwable> onError,
                          Runnable onCancelled) {
        cancelled = false;
        running.set(true);
        message.set(title);
        T value;
        try {
            value = work.run(new Progress() {
                @Override public void update(double done,
                        double total) { progress.set(total <= 0 ? -1 : done / total); }
                @Override public void message(String text) { message.set(text); }
                @Override public boolean isCancelled() { return cancelled; }
            });
        } catch (CancellationException e) {
            running.set(false);
            message.set(title + ": cancelled");
            onCancelled.run();
            return done();
        } catch (Throwable e) {
            running.set(false);
            onError.accept(e);
            return done();
        }
        running.set(false);
        progress.set(1);
        onDone.accept(value);
        return done();
    }

    private static Handle done() {
        return new Handle() {
            @Override public void cancel() { }
            @Override public boolean isDone() { return true; }
        };
    }

    @Override public ReadOnlyBooleanProperty runningProperty() { return running.getReadOnlyProperty(); }
    @Override public ReadOnlyDoubleProperty progressProperty() { return progress.getReadOnlyProperty(); }
    @Override public ReadOnlyStringProperty messageProperty() { return message.getReadOnlyProperty(); }

    @Override
    public void post(Runnable update) {
        update.run();
    }

    @Override
    public void cancelCurrent() {
        cancelled = true;
    }
}

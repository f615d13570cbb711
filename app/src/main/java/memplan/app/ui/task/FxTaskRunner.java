package memplan.app.ui.task;

import javafx.application.Platform;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.concurrent.Task;
import javafx.concurrent.Worker;

import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Runs work as JavaFX {@link Task}s on daemon threads; the properties follow the latest task (bound while it runs,
 * unbound when it ends) and callbacks run on the JavaFX thread.
 */
public final class FxTaskRunner implements TaskRunner {
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "memplan-work");
        t.setDaemon(true);
        return t;
    });
    private final ReadOnlyBooleanWrapper running = new ReadOnlyBooleanWrapper(false);
    private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(0);
    private final ReadOnlyStringWrapper message = new ReadOnlyStringWrapper("");
    private final AtomicInteger active = new AtomicInteger();
    private Task<?> current;

    @Override
    public <T> Handle run(String title, Work<T> work, Consumer<? super T> onDone, Consumer<? super Throwable> onError,
                          Runnable onCancelled) {
        Task<T> task = new Task<>() {
            @Override
            protected T call() throws Exception {
                updateMessage(title);
                updateProgress(-1, 1);
                Task<T> self = this;
                return work.run(new Progress() {
                    @Override public void update(double done, double total) { updateProgress(total <= 0 ? -1 : done,
                            total <= 0 ? 1 : total); }
                    @Override public void message(String text) { updateMessage(text); }
                    @Override public boolean isCancelled() { return self.isCancelled(); }
                });
            }
        };
        task.setOnSucceeded(e -> {
            finished(task);
            onDone.accept(task.getValue());
        });
        task.setOnFailed(e -> {
            finished(task);
            Throwable ex = task.getException();
            if (ex instanceof CancellationException) {
                message.set(title + ": cancelled");
                onCancelled.run();
            } else onError.accept(ex);
        });
        task.setOnCancelled(e -> {
            finished(task);
            message.set(title + ": cancelled");
            onCancelled.run();
        });
        Runnable bind = () -> {
            active.incrementAndGet();
            running.set(true);
            current = task;
            progress.unbind();
            message.unbind();
            progress.bind(task.progressProperty());
            message.bind(task.messageProperty());
        };
        if (Platform.isFxApplicationThread()) bind.run();
        else Platform.runLater(bind);
        pool.submit(task);
        return new Handle() {
            @Override public void cancel() { task.cancel(); }
            @Override public boolean isDone() { return task.isDone(); }
        };
    }

    private void finished(Task<?> task) {
        if (current == task) {
            progress.unbind();
            message.unbind();
            progress.set(task.getState() == Worker.State.SUCCEEDED ? 1 : 0);
            message.set("");
        }
        if (active.decrementAndGet() <= 0) {
            active.set(0);
            running.set(false);
        }
    }

    @Override public ReadOnlyBooleanProperty runningProperty() { return running.getReadOnlyProperty(); }
    @Override public ReadOnlyDoubleProperty progressProperty() { return progress.getReadOnlyProperty(); }
    @Override public ReadOnlyStringProperty messageProperty() { return message.getReadOnlyProperty(); }

    @Override
    public void post(Runnable update) {
        if (Platform.isFxApplicationThread()) update.run();
        else Platform.runLater(update);
    }

    @Override
    public void cancelCurrent() {
        Task<?> t = current;
        if (t != null) t.cancel();
    }
}

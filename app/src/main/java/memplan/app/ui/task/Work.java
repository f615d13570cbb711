package memplan.app.ui.task;

/** A piece of work that runs off the UI thread and returns a value. */
@FunctionalInterface
public interface Work<T> {
    T run(Progress progress) throws Exception;
}

package memplan.app.ui.run;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.task.TaskRunner;
import memplan.backend.Backend;
import memplan.exec.Executor;
import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.units.ByteSize;

import java.util.List;
import java.util.Locale;

/** Runs the current plan for some iterations on a backend, filling in measured against predicted values as they come. */
public final class RunViewModel {
    private final SessionViewModel session;
    private final ObservableList<BackendChoice> backends = FXCollections.observableArrayList();
    private final ObjectProperty<BackendChoice> backend = new SimpleObjectProperty<>();
    private final IntegerProperty iterations = new SimpleIntegerProperty(3);
    private final StringProperty deviceMemory = new SimpleStringProperty("2GiB");
    private final ObservableList<IterationResult> results = FXCollections.observableArrayList();
    private final StringProperty summary = new SimpleStringProperty("");
    private final BooleanProperty running = new SimpleBooleanProperty(false);
    private TaskRunner.Handle handle;

    public RunViewModel(SessionViewModel session, List<BackendChoice> found) {
        this.session = session;
        backends.setAll(found);
        for (BackendChoice c : found)
            if (c.available()) {
                backend.set(c);
                break;
            }
    }

    public ObservableList<BackendChoice> backends() { return backends; }
    public ObjectProperty<BackendChoice> backendProperty() { return backend; }
    public IntegerProperty iterationsProperty() { return iterations; }
    public StringProperty deviceMemoryProperty() { return deviceMemory; }
    public ObservableList<IterationResult> results() { return results; }
    public StringProperty summaryProperty() { return summary; }
    public BooleanProperty runningProperty() { return running; }

    /** Starts a run of the session's plan; results arrive in {@link #results()} one iteration at a time. */
    public void run() {
        Plan plan = session.plan();
        BackendChoice c = backend.get();
        if (plan == null) {
            summary.set("Open a model first.");
            return;
        }
        if (c == null || !c.available() || c.provider() == null) {
            summary.set(c == null ? "Choose a backend." : c.name() + " is not available: " + c.reason());
            return;
        }
        long capacity;
        try {
            capacity = ByteSize.parse(deviceMemory.get());
        } catch (IllegalArgumentException e) {
            summary.set("Device memory: " + e.getMessage());
            return;
        }
        int n = iterations.get();
        DeviceModel device = c.name().equalsIgnoreCase("cpu") ? DeviceModel.preset("cpu").withCapacity(capacity)
                : session.deviceProperty().get();
        results.clear();
        running.set(true);
        summary.set("Running " + n + " iteration" + (n == 1 ? "" : "s") + " on " + c.name() + "\u2026");
        TaskRunner runner = session.runner();
        handle = runner.run("Running " + plan.planner() + " plan on " + c.name(), p -> {
            try (Backend b = c.provider().open(capacity)) {
                double lr = plan.schedule().optimizer() == memplan.train.Optimizer.ADAM ? 1e-3 : 1e-2; // as `memplan run`
                return new Executor(plan, device).run(b, new RunConfig(n, lr, 42), new ProgressListener() {
                    @Override
                    public void progress(double fraction, String what) {
                        p.update(fraction, 1);
                        p.message(what);
                    }

                    @Override
                    public void iterationDone(IterationResult r) {
                        runner.post(() -> results.add(r));
                    }
                }, p::isCancelled);
            }
        }, (RunResult r) -> {
            running.set(false);
            // the last iterations may still be queued: make sure all are shown
            if (results.size() < r.iterations().size()) results.setAll(r.iterations());
            summary.set(String.format(Locale.ROOT, "%s on %s: measured peak %s, predicted %s%s; arena %s%s",
                    r.cancelled() ? "Cancelled" : "Done", r.device(), Fmt.bytes(r.measuredPeakBytes()),
                    Fmt.bytes(r.predicted().peakBytes()), r.iterations().isEmpty() ? "" : String.format(Locale.ROOT, "; last iteration %s, loss %.4f",
                            Fmt.seconds(r.iterations().get(r.iterations().size() - 1).seconds()), r.iterations().get(r.iterations().size() - 1).loss()),
                    Fmt.bytes(r.arenaBytes()), r.lossy() ? " (lossy plan)" : ""));
        }, ex -> {
            running.set(false);
            summary.set("Run failed: " + SessionViewModel.describe(ex));
        }, () -> {
            running.set(false);
            summary.set("Cancelled after " + results.size() + " iteration" + (results.size() == 1 ? "" : "s") + ".");
        });
    }

    public void cancel() {
        if (handle != null) handle.cancel();
        else session.runner().cancelCurrent();
    }
}

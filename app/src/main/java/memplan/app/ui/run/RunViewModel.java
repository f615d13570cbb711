package memplan.app.ui.run;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.LongProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleLongProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.CalibratedCpu;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.task.TaskRunner;
import memplan.backend.Backend;
import memplan.backend.DeviceOutOfMemoryException;
import memplan.exec.Executor;
import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.sim.StepTimes;
import memplan.train.Optimizer;
import memplan.units.ByteSize;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Runs the current plan for some iterations on a backend, filling in measured against predicted values as they come.
 */
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
    private final StringProperty check = new SimpleStringProperty("");
    private final LongProperty fitBytes = new SimpleLongProperty(-1);
    private final LongProperty planBudget = new SimpleLongProperty(-1);
    private LongConsumer planFor = b -> { };
    private final ObjectProperty<RunResult> last = new SimpleObjectProperty<>();
    private DeviceModel lastDevice;
    private final StringProperty calibration = new SimpleStringProperty("");

    public RunViewModel(SessionViewModel session, List<BackendChoice> found) {
        this.session = session;
        backends.setAll(found);
        for (BackendChoice c : found)
            if (c.available()) {
                backend.set(c);
                break;
            }
        deviceMemory.addListener(o -> updateCheck());
        session.evaluationProperty().addListener(o -> updateCheck());
        updateCheck();
    }

    /**
     * Before Run: a plan whose predicted peak is above the device memory cannot run, so say so at once (not after the
     * run fails), with the device memory that would fit it and the budget a planner would need.
     */
    public StringProperty checkProperty() { return check; }
    /** Device memory that fits the plan (for the one-click fix), or -1. */
    public LongProperty fitBytesProperty() { return fitBytes; }
    /** Budget to plan for so the plan fits the device memory, or -1 when no plan can. */
    public LongProperty planBudgetProperty() { return planBudget; }
    /** What "Plan for it" does: the main window runs the Plan tab's planner at that budget. */
    public void setPlanFor(LongConsumer c) { planFor = c; }

    private void updateCheck() {
        Evaluation e = session.evaluation();
        long cap;
        try {
            cap = ByteSize.parse(deviceMemory.get());
        } catch (IllegalArgumentException ex) {
            check.set("Device memory: " + ex.getMessage());
            fitBytes.set(-1);
            planBudget.set(-1);
            return;
        }
        if (e == null || e.peakBytes() <= cap) {
            check.set("");
            fitBytes.set(-1);
            planBudget.set(-1);
            return;
        }
        flag(e.peakBytes(), cap, "This plan's predicted peak, " + Fmt.bytes(e.peakBytes())
                + ", is more than the device "
                + "memory, " + Fmt.bytes(cap) + ": the run would stop at once.");
    }

    private void flag(long need, long cap, String why) {
        long fit = roundUp(need + need / 8); // the allocator's arena needs a little more than the peak of live bytes
        // a planner aims at the simulated peak; a tenth is left for the arena's fragmentation
        long budget = cap - cap / 10;
        long lower = session.analysis() == null ? 0 : session.analysis().profile().lowerBound();
        fitBytes.set(fit);
        planBudget.set(budget >= lower ? budget : -1);
        check.set(why + (budget >= lower ? "" : " No plan fits " + Fmt.bytes(cap) + ": a single step needs "
                + Fmt.bytes(lower) + " at once."));
    }

    /** Rounds up to 256 MiB below 8 GiB, to 1 GiB above. */
    static long roundUp(long b) {
        long q = b < (8L << 30) ? 256L << 20 : 1L << 30;
        return (b + q - 1) / q * q;
    }

    /** "3GiB", "2560MiB": the size as the Device memory field takes it. */
    static String field(long b) {
        return b % (1L << 30) == 0 ? (b >> 30) + "GiB" : (b >> 20) + "MiB";
    }

    /** The last finished run (its measured step times can calibrate predictions), or null. */
    public ObjectProperty<RunResult> lastRunProperty() { return last; }
    /** What the predictions are based on after calibrating, or "". */
    public StringProperty calibrationProperty() { return calibration; }

    /**
     * Predicts from now on with the step times this run measured (the CLI's --save-step-times and --step-times in
     * one click): the device model of the run, with each measured step's time in place of its roofline estimate.
     */
    public void calibrate() {
        RunResult r = last.get();
        if (r == null || r.measuredTimeline() == null || lastDevice == null) return;
        Map<String, Double> times = StepTimes.fromTimeline(r.measuredTimeline());
        if (times.isEmpty()) return;
        DeviceModel d = lastDevice.withMeasured(times);
        session.deviceProperty().set(d);
        session.resimulate();
        int steps = session.analysis() == null ? times.size() : session.analysis().schedule().stepCount();
        calibration.set(String.format(Locale.ROOT,
                "Predicting from %d step times measured on %s (the %s device model's "
                + "roofline for the other %d steps). Choosing another device model in the Plan tab goes back to the "
                        + "roofline.",
                times.size(), r.device(), d.name(), Math.max(0, steps - times.size())));
    }

    /** One click: raise the device memory to what fits the plan. */
    public void fitDeviceMemory() {
        if (fitBytes.get() > 0) deviceMemory.set(field(fitBytes.get()));
    }

    /** One click: make a plan for this device memory with the Plan tab's planner. */
    public void planForDeviceMemory() {
        if (planBudget.get() > 0) planFor.accept(planBudget.get());
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
        boolean cpu = c.name().equalsIgnoreCase("cpu");
        DeviceModel chosen = session.deviceProperty().get();
        results.clear();
        running.set(true);
        summary.set("Running " + n + " iteration" + (n == 1 ? "" : "s") + " on " + c.name() + "\u2026");
        TaskRunner runner = session.runner();
        handle = runner.run("Running " + plan.planner() + " plan on " + c.name(), p -> {
            // the cpu device model is calibrated on this machine: probes at first use, here off the FX thread
            DeviceModel device = cpu ? CalibratedCpu.obtain(p).withCapacity(capacity) : chosen;
            runner.post(() -> lastDevice = device);
            try (Backend b = c.provider().open(capacity)) {
                double lr = plan.schedule().optimizer() == Optimizer.ADAM ? 1e-3 : 1e-2; // as `memplan run`
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
            if (!r.cancelled()) last.set(r);
            // the last iterations may still be queued: make sure all are shown
            if (results.size() < r.iterations().size()) results.setAll(r.iterations());
            summary.set(String.format(Locale.ROOT, "%s on %s: measured peak %s, predicted %s%s; arena %s%s",
                    r.cancelled() ? "Cancelled" : "Done", r.device(), Fmt.bytes(r.measuredPeakBytes()),
                    Fmt.bytes(r.predicted().peakBytes()), r.iterations().isEmpty() ? "" : String.format(Locale.ROOT,
                            "; last iteration %s, loss %.4f",
                            Fmt.seconds(r.iterations().get(r.iterations().size() - 1).seconds()),
                                    r.iterations().get(r.iterations().size() - 1).loss()),
                    Fmt.bytes(r.arenaBytes()), r.lossy() ? " (lossy plan)" : ""));
        }, ex -> {
            running.set(false);
            summary.set("Run failed: " + SessionViewModel.describe(ex));
            Throwable t = ex;
            while (t.getCause() != null && !(t instanceof DeviceOutOfMemoryException)) t = t.getCause();
            if (t instanceof DeviceOutOfMemoryException oom)
                flag(oom.requestedBytes(), oom.capacityBytes(), "The run needed " + Fmt.bytes(oom.requestedBytes())
                        + " of device memory and had " + Fmt.bytes(oom.capacityBytes()) + ".");
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

package memplan.app.ui.session;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.LongProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleLongProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.SimpleDoubleProperty;
import memplan.app.ui.table.Technique;
import memplan.app.ui.task.TaskRunner;
import memplan.app.ui.timeline.ProfileTimeline;
import memplan.app.ui.timeline.SimTimeline;
import memplan.app.ui.timeline.TimelineData;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanProblem;
import memplan.plan.PlanValidator;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.ir.ModelException;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.samples.SampleModels;
import memplan.train.Optimizer;

import java.nio.file.Path;
import java.util.function.Supplier;
import memplan.io.FileWriteException;
import memplan.plan.PlanJson;
import java.nio.file.InvalidPathException;
import java.util.List;

/**
 * The state of one session: which model is open at which batch, dtype and optimizer, its analysis, the evaluation
 * the views draw, and the selection shared by graph, timeline and table. No JavaFX nodes; heavy work goes through the
 * {@link TaskRunner}.
 */
public class SessionViewModel {
    private final TaskRunner runner;
    private final RecentFiles recent;

    private final ObjectProperty<ModelDef> model = new SimpleObjectProperty<>();
    private final IntegerProperty batch = new SimpleIntegerProperty(32);
    private final ObjectProperty<DType> dtype = new SimpleObjectProperty<>(DType.FP32);
    private final ObjectProperty<Optimizer> optimizer = new SimpleObjectProperty<>(Optimizer.ADAM);
    /** Dimension symbols to set, e.g. "T=128"; symbols the open model does not use are left out. */
    private final StringProperty dims = new SimpleStringProperty("");
    private final ReadOnlyObjectWrapper<Analysis> analysis = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Evaluation> evaluation = new ReadOnlyObjectWrapper<>();
    private final StringProperty status = new SimpleStringProperty("");
    private final StringProperty error = new SimpleStringProperty("");
    private final IntegerProperty selectedNode = new SimpleIntegerProperty(-1);
    private final IntegerProperty selectedTensor = new SimpleIntegerProperty(-1);
    private final ObjectProperty<int[]> highlighted = new SimpleObjectProperty<>(new int[0]);
    private final LongProperty budgetBytes = new SimpleLongProperty(-1);
    private final BooleanProperty busy = new SimpleBooleanProperty(false);
    private final ReadOnlyObjectWrapper<Plan> plan = new ReadOnlyObjectWrapper<>();
    private final ObjectProperty<DeviceModel> device = new SimpleObjectProperty<>(DeviceModel.preset("h100"));
    private final DoubleProperty lastEditMillis = new SimpleDoubleProperty(Double.NaN);
    private long editStartNanos = -1;
    private double editSimMillis;
    private volatile long editSimDoneNanos, editAppliedNanos;
    private long generation;
    /** Edits re-simulate on the calling thread when the last simulation took less than this; else in the background. */
    public static final double INLINE_SIMULATION_MILLIS = 50;

    public SessionViewModel(TaskRunner runner, RecentFiles recent) {
        this.runner = runner;
        this.recent = recent;
        selectedNode.addListener((o, a, n) -> {
            Analysis an = analysis.get();
            if (an == null || n.intValue() < 0) {
                if (selectedTensor.get() < 0) highlighted.set(new int[0]);
                return;
            }
            highlighted.set(an.tensorsOf(n.intValue()));
        });
        selectedTensor.addListener((o, a, n) -> {
            if (n.intValue() >= 0) highlighted.set(new int[]{n.intValue()});
            else if (selectedNode.get() < 0) highlighted.set(new int[0]);
        });
        busy.bind(runner.runningProperty());
    }

    public TaskRunner runner() { return runner; }
    public RecentFiles recent() { return recent; }
    public ObjectProperty<ModelDef> modelProperty() { return model; }
    public IntegerProperty batchProperty() { return batch; }
    public ObjectProperty<DType> dtypeProperty() { return dtype; }
    public ObjectProperty<Optimizer> optimizerProperty() { return optimizer; }
    public StringProperty dimsProperty() { return dims; }
    public ReadOnlyObjectProperty<Analysis> analysisProperty() { return analysis.getReadOnlyProperty(); }
    public Analysis analysis() { return analysis.get(); }
    public ReadOnlyObjectProperty<Evaluation> evaluationProperty() { return evaluation.getReadOnlyProperty(); }
    public Evaluation evaluation() { return evaluation.get(); }
    public StringProperty statusProperty() { return status; }
    public StringProperty errorProperty() { return error; }
    public IntegerProperty selectedNodeProperty() { return selectedNode; }
    public IntegerProperty selectedTensorProperty() { return selectedTensor; }
    /** Tensors highlighted everywhere: those of the selected layer, or the selected tensor. */
    public ObjectProperty<int[]> highlightedProperty() { return highlighted; }
    /** The memory budget drawn on the timeline, or -1. */
    public LongProperty budgetBytesProperty() { return budgetBytes; }
    public BooleanProperty busyProperty() { return busy; }
    public ReadOnlyObjectProperty<Plan> planProperty() { return plan.getReadOnlyProperty(); }
    public Plan plan() { return plan.get(); }
    /** The device model the simulator predicts for. */
    public ObjectProperty<DeviceModel> deviceProperty() { return device; }
    /** Milliseconds from the last technique edit to the redrawn timeline (set by the view through {@link #editRedrawn()}). */
    public DoubleProperty lastEditMillisProperty() { return lastEditMillis; }

    /** Opens a bundled sample model (loading and profiling run in the background). */
    public void openSample(String name) {
        open("sample " + name, () -> SampleModels.load(name), null);
    }

    /** Opens a model file (.json, or .onnx imported); a problem in it is shown in {@link #errorProperty()}, written for the user. */
    public void openFile(Path file) {
        boolean onnx = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".onnx");
        open(file.getFileName().toString(), () -> onnx ? memplan.onnx.OnnxImporter.read(file, memplan.onnx.OnnxOptions.defaults())
                : ModelJson.read(file), file);
    }

    public void openModel(ModelDef m) {
        open(m.name(), () -> m, null);
    }

    /** Profiles the open model again with the current batch, dtype and optimizer. */
    public void reprofile() {
        ModelDef m = model.get();
        if (m != null) open(m.name(), () -> m, null);
    }

    private void open(String what, Supplier<ModelDef> load, Path file) {
        int b = batch.get();
        DType d = dtype.get();
        Optimizer o = optimizer.get();
        java.util.Map<String, Integer> dimValues;
        try {
            dimValues = DimSettings.parse(dims.get());
        } catch (IllegalArgumentException ex) {
            error.set(ex.getMessage());
            return;
        }
        error.set("");
        status.set("Opening " + what + "...");
        runner.run("Profiling " + what, p -> {
            p.message("Loading " + what);
            ModelDef m = load.get();
            p.checkCancelled();
            p.message("Profiling " + m.name() + " at batch " + b);
            Analysis a = Analysis.of(m, b, d, o, DimSettings.forModel(dimValues, m));
            p.checkCancelled();
            DeviceModel dev = device.get();
            Evaluation e;
            try {
                e = evaluate(a, Plan.baseline(a.schedule()), dev);
                if (e.millis() < INLINE_SIMULATION_MILLIS) warmUp(a, dev, p);
            } catch (RuntimeException ex) {
                e = baselineEvaluation(a);
            }
            return new Object[]{m, a, e};
        }, r -> {
            if (file != null && recent != null) recent.add(file);
            ModelDef m = (ModelDef) r[0];
            Analysis a = (Analysis) r[1];
            selectedNode.set(-1);
            selectedTensor.set(-1);
            highlighted.set(new int[0]);
            model.set(m);
            generation++;
            Evaluation ev = (Evaluation) r[2];
            plan.set(ev.plan() != null ? ev.plan() : Plan.baseline(a.schedule()));
            analysis.set(a);
            evaluation.set(ev);
            status.set(String.format(java.util.Locale.ROOT, "%s: %d layers, %d tensors, %d steps; profiled in %.0f ms",
                    m.name(), a.graph().nodes().size(), a.schedule().tensorCount(), a.schedule().stepCount(), a.millis()));
            onAnalysis(a);
        }, ex -> {
            error.set(describe(ex));
            status.set("Could not open " + what);
        }, () -> status.set("Cancelled opening " + what));
    }

    /** Hook for subclasses and planners: called on the UI thread when a new analysis is in place. */
    protected void onAnalysis(Analysis a) {
    }

    /** Simulates a plan in the background and shows it; a newer call wins over an older one still running. */
    public void applyPlan(Plan p, String what) {
        Analysis a = analysis.get();
        if (a == null || p == null) return;
        if (p.schedule() != a.schedule()) {
            error.set("That plan was made for another model or batch size; open that model first.");
            return;
        }
        long gen = ++generation;
        DeviceModel dev = device.get();
        runner.run(what, pr -> {
            Evaluation ev = evaluate(a, p, dev);
            editSimDoneNanos = System.nanoTime();
            return ev;
        }, e -> {
            if (gen != generation || analysis.get() != a) return;
            editAppliedNanos = System.nanoTime();
            editSimMillis = e.millis();
            plan.set(p);
            evaluation.set(e);
        }, ex -> {
            editStartNanos = -1;
            error.set(describe(ex));
        });
    }

    /** Shows an evaluation made elsewhere (by a planner) as the current plan. */
    public void showEvaluation(Evaluation e) {
        if (e.plan() == null || analysis.get() == null || e.plan().schedule() != analysis.get().schedule()) return;
        generation++;
        plan.set(e.plan());
        evaluation.set(e);
    }

    /** Writes the current plan as JSON. */
    public void exportPlan(Path file) {
        Plan p = plan.get();
        if (p == null) return;
        try {
            PlanJson.write(p, file, modelFile(p));
            status.set("Saved the plan (" + p.changedCount() + " decisions) to " + file);
        } catch (FileWriteException e) {
            error.set("Could not save " + file + ": " + e.reason());
        } catch (RuntimeException e) {
            error.set("Could not save " + file + ": " + describe(e));
        }
    }

    /** The open model's file (not to be overwritten by an export), if it came from one. */
    private static List<Path> modelFile(Plan p) {
        String src = p.schedule().graph().model().source();
        try {
            return src == null ? List.of() : List.of(Path.of(src));
        } catch (InvalidPathException e) {
            return List.of();
        }
    }

    /** Reads a plan for the open model and shows it; problems (another model, unknown tensors, invalid decisions) are shown as errors. */
    public void importPlan(Path file) {
        Analysis a = analysis.get();
        if (a == null) {
            error.set("Open the plan's model first.");
            return;
        }
        try {
            Plan p = memplan.plan.PlanJson.read(file, a.schedule());
            java.util.List<PlanProblem> problems = PlanValidator.problems(p);
            if (!problems.isEmpty()) {
                error.set(file.getFileName() + ": " + new memplan.plan.InvalidPlanException(problems).getMessage());
                return;
            }
            error.set("");
            applyPlan(p, "Simulating the imported plan");
            status.set("Imported " + p.changedCount() + " decisions from " + file.getFileName());
        } catch (RuntimeException e) {
            error.set(describe(e));
        }
    }

    /** Re-simulates the current plan (after the device model changed). */
    public void resimulate() {
        if (plan.get() != null) applyPlan(plan.get(), "Simulating");
    }

    /**
     * Sets one tensor's technique and re-simulates. A technique that cannot apply leaves the plan as it is and says
     * why in {@link #errorProperty()} (naming the tensor). Returns whether the plan changed.
     */
    public boolean setTechnique(int tensor, Technique t) {
        Plan cur = plan.get();
        if (cur == null) return false;
        Decision d;
        try {
            d = PlanEdits.decisionFor(cur, tensor, t);
        } catch (IllegalArgumentException ex) {
            error.set(ex.getMessage());
            return false;
        }
        return setDecision(tensor, d);
    }

    public boolean setDecision(int tensor, Decision d) {
        Plan cur = plan.get();
        if (cur == null) return false;
        Plan np = cur.with(tensor, d);
        java.util.List<PlanProblem> problems = PlanValidator.problems(np);
        if (!problems.isEmpty()) {
            PlanProblem first = problems.get(0);
            for (PlanProblem pr : problems) if (pr.tensor() == tensor) first = pr;
            error.set("Cannot " + d.kind() + " " + first);
            return false;
        }
        error.set("");
        editStartNanos = System.nanoTime();
        Evaluation last = evaluation.get();
        if (last != null && last.sim() != null && last.millis() < INLINE_SIMULATION_MILLIS) {
            // A re-simulation this quick (ResNet-50, GPT-2: a few ms) is not heavy work: doing it at once saves two
            // thread hand-offs, which dominate click-to-redraw on a busy machine.
            Analysis a = analysis.get();
            Evaluation e = evaluate(a, np, device.get());
            generation++;
            editSimDoneNanos = editAppliedNanos = System.nanoTime();
            editSimMillis = e.millis();
            plan.set(np);
            evaluation.set(e);
            return true;
        }
        applyPlan(np, "Re-simulating");
        return true;
    }

    /** Called by the view once the timeline shows the result of an edit: records click-to-redraw time. */
    public void editRedrawn() {
        if (editStartNanos < 0) return;
        double ms = (System.nanoTime() - editStartNanos) / 1e6;
        editStartNanos = -1;
        lastEditMillis.set(ms);
        Evaluation e = evaluation.get();
        status.set(String.format(java.util.Locale.ROOT, "Edit applied: peak %s, click to redraw %.1f ms (simulation %.1f ms)",
                memplan.units.ByteSize.format(e == null ? 0 : e.peakBytes()), ms, editSimMillis));
        System.Logger log = System.getLogger("memplan.app.ui");
        long now = System.nanoTime();
        log.log(System.Logger.Level.INFO, String.format(java.util.Locale.ROOT,
                "click-to-redraw %.1f ms (simulation %.1f ms; result on the UI thread after %.1f ms, views updated and laid out in %.1f ms)",
                ms, editSimMillis, (editAppliedNanos - (now - (long) (ms * 1e6))) / 1e6, (now - editAppliedNanos) / 1e6));
    }

    public boolean editPending() {
        return editStartNanos >= 0;
    }

    /**
     * Runs a few throw-away simulations with one tensor recomputed, in the background while opening, so that the
     * first edits a user makes do not pay for the JIT compiling the lowering and the simulator.
     */
    private static void warmUp(Analysis a, DeviceModel dev, memplan.app.ui.task.Progress p) {
        Plan base = Plan.baseline(a.schedule());
        int done = 0;
        for (var t : a.schedule().tensors()) {
            if (done >= 8 || p.isCancelled()) return;
            if (!a.savedForBackward(t.id()) || t.kind() != memplan.train.TensorKind.ACTIVATION) continue;
            Plan q = base.with(t.id(), Decision.RECOMPUTE);
            if (!PlanValidator.problems(q).isEmpty()) continue;
            evaluate(a, q, dev).timeline().lifetimes().liveAt(0);
            done++;
        }
    }

    /** Simulates a plan: the evaluation the views draw. Pure; runs on any thread. */
    public static Evaluation evaluate(Analysis a, Plan p, DeviceModel dev) {
        long t0 = System.nanoTime();
        SimResult r = Simulator.simulate(p, dev);
        TimelineData td = SimTimeline.of(r);
        long[] perTensor = SimTimeline.tensorBytesAtPeak(td);
        long[] nodeBytes = new long[a.graph().nodes().size()];
        if (perTensor != null)
            for (int t = 0; t < perTensor.length; t++) {
                int n = a.nodeOf(t);
                if (n >= 0) nodeBytes[n] += perTensor[t];
            }
        return new Evaluation(p, r, td, r.peakBytes(), r.iterationSeconds(), r.overhead(), r.bytesMoved(), nodeBytes,
                (System.nanoTime() - t0) / 1e6);
    }

    public static Evaluation baselineEvaluation(Analysis a) {
        long t0 = System.nanoTime();
        var tl = ProfileTimeline.of(a.schedule(), a.liveness(), a.profile());
        int peak = a.profile().peakStep();
        long[] nodeBytes = new long[a.graph().nodes().size()];
        for (int t = 0; t < a.schedule().tensorCount(); t++) {
            int n = a.nodeOf(t);
            if (n >= 0 && a.liveness().liveAt(t, peak)) nodeBytes[n] += a.schedule().tensor(t).bytes();
        }
        return new Evaluation(null, null, tl, a.profile().peakBytes(), Double.NaN, 0, 0, nodeBytes, (System.nanoTime() - t0) / 1e6);
    }

    /** A message for the user: the model-format messages are written for them; others get their type named. */
    public static String describe(Throwable ex) {
        Throwable t = ex;
        while (t.getCause() != null && !(t instanceof ModelException) && t.getCause() != t) {
            if (t instanceof RuntimeException && t.getMessage() != null && !(t instanceof java.util.concurrent.CompletionException)) break;
            t = t.getCause();
        }
        if (ControlHints.remedyOf(t) != null) return ControlHints.withHint(t);
        if (t instanceof ModelException || t instanceof IllegalArgumentException || t instanceof IllegalStateException)
            return t.getMessage();
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }
}

package memplan.app.ui.session;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.LongProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleLongProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import memplan.app.ui.Fmt;
import memplan.app.ui.table.Technique;
import memplan.app.ui.task.Progress;
import memplan.app.ui.task.TaskRunner;
import memplan.app.ui.timeline.ProfileTimeline;
import memplan.app.ui.timeline.SimTimeline;
import memplan.app.ui.timeline.TimelineData;
import memplan.io.FileWriteException;
import memplan.io.ModelJson;
import memplan.graph.GraphException;
import memplan.ir.DType;
import memplan.ir.ModelException;
import memplan.model.ModelDef;
import memplan.onnx.OnnxImporter;
import memplan.onnx.OnnxOptions;
import memplan.plan.Decision;
import memplan.plan.InvalidPlanException;
import memplan.plan.Plan;
import memplan.plan.PlanFormatException;
import memplan.plan.PlanJson;
import memplan.export.PyTorchExport;
import memplan.export.PyTorchExporter;
import memplan.io.AtomicFileWriter;
import memplan.plan.PlanProblem;
import memplan.plan.PlanValidator;
import memplan.samples.SampleModels;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.TensorKind;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import java.util.function.Supplier;

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
    private final TrainingSettings training = new TrainingSettings(optimizer, dtype);
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
    private final PlanHistory history = new PlanHistory();
    private final BooleanProperty canUndo = new SimpleBooleanProperty(false),
            canRedo = new SimpleBooleanProperty(false);
    private final StringProperty undoText = new SimpleStringProperty("Undo"),
            redoText = new SimpleStringProperty("Redo");
    private final IntegerProperty handEdits = new SimpleIntegerProperty(0);
    private final ReadOnlyObjectWrapper<Evaluation> baselineEvaluation = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Evaluation> previousEvaluation = new ReadOnlyObjectWrapper<>();
    private Confirmation confirmation = (title, question, yes) -> true;
    private String editStatus;
    private final List<Consumer<Analysis>> afterOpen = new ArrayList<>();
    /** Asks the user a yes/no question before the app replaces their work; the app shows a dialog. */
    @FunctionalInterface
    public interface Confirmation {
        boolean confirm(String title, String question, String yes);
    }

    /** Everything a lesson replaces, to put back when it ends. */
    public record Snapshot(ModelDef model, int batch, DType dtype, Optimizer optimizer, String dims, Analysis analysis,
                           Evaluation evaluation, Evaluation baseline, PlanHistory history, long budget,
                           DeviceModel device, TrainingSettings.Values training) {
    }

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
    /** The training setup (frozen parameters, LoRA, accumulation, 8-bit state, NF4, autocast) profiles use. */
    public TrainingSettings training() { return training; }
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
    public BooleanProperty canUndoProperty() { return canUndo; }
    public BooleanProperty canRedoProperty() { return canRedo; }
    /** "Undo recompute 'relu1'": the Edit menu's item text. */
    public StringProperty undoTextProperty() { return undoText; }
    public StringProperty redoTextProperty() { return redoText; }
    /** Decisions the user set by hand since the last plan made for them (planner, lesson, import). */
    public IntegerProperty handEditsProperty() { return handEdits; }
    /** The baseline plan's evaluation for the open model on the current device: the timeline holds its scale. */
    public ReadOnlyObjectProperty<Evaluation> baselineEvaluationProperty() {
        return baselineEvaluation.getReadOnlyProperty();
    }

    /** The evaluation shown before the last plan change (its peak is drawn as a ghost), or null. */
    public ReadOnlyObjectProperty<Evaluation> previousEvaluationProperty() {
        return previousEvaluation.getReadOnlyProperty();
    }

    public PlanHistory history() { return history; }
    public void setConfirmation(Confirmation c) { confirmation = c; }

    /** Asks the user (a dialog in the app; yes without a screen unless a test sets a {@link Confirmation}). */
    public boolean confirm(String title, String question, String yes) {
        return confirmation.confirm(title, question, yes);
    }

    /**
     * Whether an action that replaces the whole plan may go ahead: yes when there are no hand edits, else the user is
     * asked (undo still brings the edits back).
     */
    public boolean mayReplaceEdits(String action) {
        int n = handEdits.get();
        if (n == 0) return true;
        return confirmation.confirm(action, action + " replaces the plan, and with it your " + n + " hand edit"
                + (n == 1 ? "" : "s") + " (Edit \u2192 Undo brings " + (n == 1 ? "it" : "them") + " back).", action);
    }

    /**
     * Milliseconds from the last technique edit to the redrawn timeline (set by the view through {@link
     * #editRedrawn()}).
     */
    public DoubleProperty lastEditMillisProperty() { return lastEditMillis; }

    /** Opens a bundled sample model (loading and profiling run in the background). */
    public void openSample(String name) {
        open("sample " + name, () -> SampleModels.load(name), null);
    }

    /**
     * Opens a model file (.json, or .onnx imported); a problem in it is shown in {@link #errorProperty()}, written for
     * the user.
     */
    public void openFile(Path file) {
        boolean onnx = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx");
        open(file.getFileName().toString(), () -> onnx ? OnnxImporter.read(file, OnnxOptions.defaults())
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
        Map<String, Integer> dimValues;
        try {
            dimValues = DimSettings.parse(dims.get());
        } catch (IllegalArgumentException ex) {
            error.set(ex.getMessage());
            return;
        }
        TrainingSettings.Choice setup;
        try {
            setup = training.choice(o, d);
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
            Analysis a = analyse(m, b, d, o, DimSettings.forModel(dimValues, m), setup);
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
            Plan first = ev.plan() != null ? ev.plan() : Plan.baseline(a.schedule());
            history.reset(first, "Open " + m.name());
            handEdits.set(0);
            previousEvaluation.set(null);
            baselineEvaluation.set(ev);
            plan.set(first);
            analysis.set(a);
            evaluation.set(ev);
            updateUndo();
            training.setProblem("");
            String trained = setup.describe();
            status.set(String.format(Locale.ROOT, "%s: %d layers, %d tensors, %d steps%s; profiled in %.0f ms",
                    m.name(), a.graph().nodes().size(), a.schedule().tensorCount(),
                            a.schedule().stepCount(), trained.isEmpty() ? "" : " (" + trained + ")", a.millis()));
            onAnalysis(a);
            List<Consumer<Analysis>> then = List.copyOf(afterOpen);
            afterOpen.clear();
            for (var c : then) c.accept(a);
        }, ex -> {
            afterOpen.clear();
            error.set(describe(ex));
            if (ex instanceof SetupProblem) training.setProblem(ex.getMessage());
            status.set("Could not open " + what);
        }, () -> {
            afterOpen.clear();
            status.set("Cancelled opening " + what);
        });
    }

    /** A training setting that does not fit the model (a LoRA target or frozen pattern that names nothing). */
    static final class SetupProblem extends IllegalArgumentException {
        SetupProblem(String message) {
            super(message);
        }
    }

    /** The model with its LoRA adapters, profiled with the training setup (off the UI thread). */
    private static Analysis analyse(ModelDef m, int batch, DType d, Optimizer o, Map<String, Integer> dims,
                                    TrainingSettings.Choice setup) {
        ModelDef adapted = m;
        if (setup.lora() != null) {
            try {
                adapted = setup.lora().apply(m);
            } catch (IllegalArgumentException e) {
                throw new SetupProblem("LoRA: " + e.getMessage());
            }
        }
        try {
            return Analysis.of(adapted, batch, d, o, dims, setup.setup());
        } catch (GraphException e) {
            if (FROZEN.equals(e.location())) throw new SetupProblem("Freeze: " + e.reason());
            throw e;
        }
    }

    private static final String FROZEN = "frozen parameters";

    /**
     * Runs once the model being opened is in place with its baseline shown (not when opening fails): what a lesson or
     * an import does next. Listeners of the analysis property run earlier, before the evaluation is set.
     */
    public void afterNextOpen(Consumer<Analysis> then) {
        afterOpen.add(then);
    }

    /** Hook for subclasses and planners: called on the UI thread when a new analysis is in place. */
    protected void onAnalysis(Analysis a) {
    }

    /**
     * Simulates a plan made for the user (a lesson step, an imported plan, the baseline) in the background and shows it
     * in place of the current one; undo brings the current one back. A newer call wins over an older one still running.
     */
    public void applyPlan(Plan p, String what) {
        simulate(p, what, Change.REPLACE, 0);
    }

    /** How a newly shown plan enters the history. */
    private enum Change { REPLACE, HAND_EDIT, UNDO, REDO, RESIMULATE }

    private void simulate(Plan p, String what, Change change, int edits) {
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
            Evaluation base = change == Change.RESIMULATE ? evaluate(a, Plan.baseline(a.schedule()), dev) : null;
            editSimDoneNanos = System.nanoTime();
            return new Evaluation[]{ev, base};
        }, r -> {
            if (gen != generation || analysis.get() != a) return;
            editAppliedNanos = System.nanoTime();
            editSimMillis = r[0].millis();
            if (r[1] != null) baselineEvaluation.set(r[1]);
            shown(r[0], what, change, edits);
        }, ex -> {
            editStartNanos = -1;
            error.set(describe(ex));
        });
    }

    /** Puts an evaluated plan on screen, records it for undo, and says in the status bar what happened. */
    private void shown(Evaluation e, String what, Change change, int edits) {
        Evaluation before = evaluation.get();
        Plan p = e.plan();
        switch (change) {
            case REPLACE -> history.push(p, what, 0);
            case HAND_EDIT -> history.push(p, what, edits);
            default -> { }
        }
        PlanHistory.Entry cur = history.current();
        handEdits.set(cur == null ? 0 : cur.handEdits());
        if (change != Change.RESIMULATE && before != null && before.plan() != p) previousEvaluation.set(before);
        if (change == Change.RESIMULATE) previousEvaluation.set(null);
        plan.set(p);
        evaluation.set(e);
        updateUndo();
        String peak = Fmt.bytes(e.peakBytes());
        String text = switch (change) {
            case UNDO -> "Undid " + lower(what) + ": peak " + peak;
            case REDO -> "Redid " + lower(what) + ": peak " + peak;
            case RESIMULATE -> "Predicted on " + device.get().name() + ": peak " + peak
                    + (Double.isNaN(e.iterationSeconds()) ? "" : ", iteration " + Fmt.seconds(e.iterationSeconds()));
            case HAND_EDIT -> what + ": peak " + (before == null ? "" : Fmt.bytes(before.peakBytes()) + " \u2192 ")
                    + peak;
            case REPLACE -> what + ": peak " + peak;
        };
        status.set(text);
        editStatus = change == Change.HAND_EDIT ? text : null;
    }

    private static String lower(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }

    private void updateUndo() {
        canUndo.set(history.canUndo());
        canRedo.set(history.canRedo());
        undoText.set(history.canUndo() ? "Undo " + lower(history.undoable().what()) : "Undo");
        redoText.set(history.canRedo() ? "Redo " + lower(history.redoable().what()) : "Redo");
    }

    /** Goes back to the plan before the last change (hand edit, planner, lesson step...). */
    public void undo() {
        PlanHistory.Entry undone = history.undoable();
        if (undone == null) return;
        PlanHistory.Entry now = history.undo();
        show(now.plan(), undone.what(), Change.UNDO);
    }

    public void redo() {
        PlanHistory.Entry next = history.redo();
        if (next == null) return;
        show(next.plan(), next.what(), Change.REDO);
    }

    /** Shows a plan from the history: at once when simulating is quick, else in the background. */
    private void show(Plan p, String what, Change change) {
        Evaluation last = evaluation.get();
        if (last != null && last.sim() != null && last.millis() < INLINE_SIMULATION_MILLIS && analysis.get() != null) {
            generation++;
            shown(evaluate(analysis.get(), p, device.get()), what, change, 0);
            return;
        }
        simulate(p, what, change, 0);
    }

    /** Shows an evaluation made elsewhere (by a planner) as the current plan. */
    public void showEvaluation(Evaluation e) {
        showEvaluation(e, "Plan " + (e.plan() == null ? "" : e.plan().planner()));
    }

    /** Shows an evaluation made elsewhere (a planner, Compare's Use A) as the current plan; {@code what} names it. */
    public void showEvaluation(Evaluation e, String what) {
        if (e.plan() == null || analysis.get() == null || e.plan().schedule() != analysis.get().schedule()) return;
        generation++;
        shown(e, what, Change.REPLACE, 0);
    }

    /** What a lesson will replace, to give back with {@link #restore(Snapshot)}. */
    public Snapshot snapshot() {
        return new Snapshot(model.get(), batch.get(), dtype.get(), optimizer.get(), dims.get(), analysis.get(),
                evaluation.get(), baselineEvaluation.get(), history.copy(), budgetBytes.get(), device.get(),
                training.values());
    }

    /** Puts back a model, its analysis, plan and history exactly as they were (no profiling again). */
    public void restore(Snapshot s) {
        if (s.analysis() == null) return;
        generation++;
        batch.set(s.batch());
        dtype.set(s.dtype());
        optimizer.set(s.optimizer());
        dims.set(s.dims());
        training.set(s.training());
        selectedNode.set(-1);
        selectedTensor.set(-1);
        highlighted.set(new int[0]);
        history.restore(s.history());
        handEdits.set(history.current() == null ? 0 : history.current().handEdits());
        previousEvaluation.set(null);
        baselineEvaluation.set(s.baseline());
        model.set(s.model());
        plan.set(s.evaluation().plan() != null ? s.evaluation().plan() : history.current().plan());
        analysis.set(s.analysis());
        evaluation.set(s.evaluation());
        budgetBytes.set(s.budget());
        updateUndo();
        status.set("Back to " + s.model().name() + " with your plan: peak " + Fmt.bytes(s.evaluation().peakBytes()));
        if (!device.get().equals(s.device())) resimulate();
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

    /**
     * Writes the plan as a Python module that installs it on the user's PyTorch model (`memplan export pytorch`),
     * in the background; what PyTorch cannot express is said in the status line.
     */
    public void exportPyTorch(Path file) {
        Plan p = plan.get();
        if (p == null) return;
        runner.run("Exporting the plan for PyTorch", pr -> {
            PyTorchExport ex = PyTorchExporter.export(p);
            AtomicFileWriter.writeString(file, ex.source(), modelFile(p));
            return ex;
        }, ex -> status.set("Saved the plan for PyTorch to " + file + ": " + ex.decisions().size()
                + " decisions on module calls, " + ex.regions().size() + " checkpoint regions"
                + (ex.notExpressed().isEmpty() ? "" : "; " + ex.notExpressed().size()
                + " decisions PyTorch cannot express are kept (listed in the file)")), e -> error.set(
                "Could not save " + file + ": " + (e instanceof FileWriteException fw ? fw.reason() : describe(e))));
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

    /**
     * Reads a plan for the open model and shows it; problems (another model, unknown tensors, invalid decisions) are
     * shown as errors.
     */
    public void importPlan(Path file) {
        Analysis a = analysis.get();
        if (a == null) {
            error.set("Open the plan's model first.");
            return;
        }
        try {
            Plan p = PlanJson.read(file, a.schedule());
            List<PlanProblem> problems = PlanValidator.problems(p);
            if (!problems.isEmpty()) {
                error.set(file.getFileName() + ": " + new InvalidPlanException(problems).getMessage());
                return;
            }
            error.set("");
            if (!mayReplaceEdits("Import plan")) return;
            applyPlan(p, "Import " + p.changedCount() + " decisions from " + file.getFileName());
        } catch (PlanFormatException e) {
            // declined or nothing to offer: the reason, naming the plan's model, stays in the error bar
            if (!"model.hash".equals(e.field()) || !offerPlanModel(file)) error.set(describe(e));
        } catch (RuntimeException e) {
            error.set(describe(e));
        }
    }

    /**
     * A plan made for another model: when the file names a bundled sample, asks whether to open that one with the
     * plan's settings and imports the plan once it is profiled. Returns whether it did.
     */
    private boolean offerPlanModel(Path file) {
        PlanOrigin o = PlanOrigin.read(file);
        if (o == null || !SampleModels.exists(o.model())) return false;
        Analysis a = analysis.get();
        String open = a.model().name() + " at batch " + a.graph().batch();
        if (!confirmation.confirm("Import plan", file.getFileName() + " was made for "
                + o.describe() + "; the open model "
                + "is " + open + ". Open " + o.model() + " with those settings and import the plan?",
                        "Open " + o.model()))
            return false;
        if (o.batch() > 0) batch.set(o.batch());
        if (o.dtype() != null) dtype.set(o.dtype());
        if (o.optimizer() != null) optimizer.set(o.optimizer());
        dims.set(o.dimsSetting());
        afterNextOpen(opened -> {
            if (opened.model().name().equals(o.model())) importPlan(file);
        });
        openSample(o.model());
        return true;
    }

    /** Re-simulates the current plan and the baseline (after the device model changed). */
    public void resimulate() {
        if (plan.get() != null) simulate(plan.get(), "Simulating on " + device.get().name(), Change.RESIMULATE, 0);
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
        List<PlanProblem> problems = PlanValidator.problems(np);
        if (!problems.isEmpty()) {
            PlanProblem first = problems.get(0);
            for (PlanProblem pr : problems) if (pr.tensor() == tensor) first = pr;
            error.set("Cannot " + d.kind() + " " + first);
            return false;
        }
        error.set("");
        editStartNanos = System.nanoTime();
        String what = describeEdit(cur, tensor, d);
        int edits = handEdits.get() + 1;
        Evaluation last = evaluation.get();
        if (last != null && last.sim() != null && last.millis() < INLINE_SIMULATION_MILLIS) {
            // A re-simulation this quick (ResNet-50, GPT-2: a few ms) is not heavy work: doing it at once saves two
            // thread hand-offs, which dominate click-to-redraw on a busy machine.
            Analysis a = analysis.get();
            Evaluation e = evaluate(a, np, device.get());
            generation++;
            editSimDoneNanos = editAppliedNanos = System.nanoTime();
            editSimMillis = e.millis();
            shown(e, what, Change.HAND_EDIT, edits);
            return true;
        }
        simulate(np, what, Change.HAND_EDIT, edits);
        return true;
    }

    /**
     * Gives several tensors one technique as one change (one undo step); those it cannot apply to are left as they
     * are. Returns how many changed.
     */
    public int setTechniques(int[] tensors, Technique t) {
        Plan cur = plan.get();
        if (cur == null) return 0;
        Plan np = cur;
        int changed = 0;
        for (int tensor : tensors) {
            try {
                Plan q = np.with(tensor, PlanEdits.decisionFor(np, tensor, t));
                if (PlanValidator.problems(q).isEmpty() && !q.decision(tensor).equals(np.decision(tensor))) {
                    np = q;
                    changed++;
                }
            } catch (IllegalArgumentException ex) {
                // no partner to share with: this one stays
            }
        }
        if (changed == 0) {
            error.set("Cannot " + t.label + " any of these " + tensors.length + " tensors");
            return 0;
        }
        error.set("");
        String verb = t.label.substring(0, 1).toUpperCase(Locale.ROOT) + t.label.substring(1);
        simulate(np, verb + " " + changed + " tensors", Change.HAND_EDIT, handEdits.get() + changed);
        return changed;
    }

    /** "Recompute 'relu1'", "Keep 'fc.out' (was swap)": an edit as the status bar and the Edit menu name it. */
    static String describeEdit(Plan before, int tensor, Decision d) {
        String name = before.schedule().tensor(tensor).name();
        Technique t = PlanEdits.techniqueOf(d);
        String was = PlanEdits.techniqueOf(before.decision(tensor)).label;
        String verb = t.label.substring(0, 1).toUpperCase(Locale.ROOT) + t.label.substring(1);
        return verb + " '" + name + "'" + (t == Technique.KEEP ? " (was " + was + ")" : "");
    }

    /** Called by the view once the timeline shows the result of an edit: records click-to-redraw time. */
    public void editRedrawn() {
        if (editStartNanos < 0) return;
        double ms = (System.nanoTime() - editStartNanos) / 1e6;
        editStartNanos = -1;
        lastEditMillis.set(ms);
        if (editStatus != null && editStatus.equals(status.get()))
            status.set(editStatus + String.format(Locale.ROOT, " (on screen %.0f ms after the edit)", ms));
        System.Logger log = System.getLogger("memplan.app.ui");
        long now = System.nanoTime();
        log.log(System.Logger.Level.INFO, String.format(Locale.ROOT,
                "click-to-redraw %.1f ms (simulation %.1f ms; result on the UI thread after %.1f ms, views updated "
                        + "and laid out in %.1f ms)",
                ms, editSimMillis, (editAppliedNanos - (now - (long) (ms * 1e6))) / 1e6,
                        (now - editAppliedNanos) / 1e6));
    }

    public boolean editPending() {
        return editStartNanos >= 0;
    }

    /**
     * Runs a few throw-away simulations with one tensor recomputed, in the background while opening, so that the
     * first edits a user makes do not pay for the JIT compiling the lowering and the simulator.
     */
    private static void warmUp(Analysis a, DeviceModel dev, Progress p) {
        Plan base = Plan.baseline(a.schedule());
        int done = 0;
        for (var t : a.schedule().tensors()) {
            if (done >= 8 || p.isCancelled()) return;
            if (!a.savedForBackward(t.id()) || t.kind() != TensorKind.ACTIVATION) continue;
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
        return new Evaluation(null, null, tl, a.profile().peakBytes(), Double.NaN, 0, 0, nodeBytes,
                (System.nanoTime() - t0) / 1e6);
    }

    /** A message for the user: the model-format messages are written for them; others get their type named. */
    public static String describe(Throwable ex) {
        Throwable t = ex;
        while (t.getCause() != null && !(t instanceof ModelException) && t.getCause() != t) {
            if (t instanceof RuntimeException && t.getMessage() != null && !(t instanceof CompletionException)) break;
            t = t.getCause();
        }
        if (ControlHints.hasRemedy(t)) return ControlHints.withHint(t);
        if (t instanceof ModelException || t instanceof IllegalArgumentException || t instanceof IllegalStateException)
            return t.getMessage();
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }
}

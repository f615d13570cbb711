package memplan.app.ui.teach;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.session.TrainingSettings;

import java.util.List;
import java.util.Locale;

/**
 * Guided demos: opens a small model, then walks through the steps of a lesson, applying each step's plan, pointing at
 * the tensors it changed and saying what it saved and what it cost.
 */
public final class TeachingViewModel {
    public static final String MODEL = "tiny-cnn";
    public static final int BATCH = 64;

    private final SessionViewModel session;
    private final ObjectProperty<Lesson> lesson = new SimpleObjectProperty<>();
    private final IntegerProperty step = new SimpleIntegerProperty(-1);
    private final IntegerProperty stepCount = new SimpleIntegerProperty(0);
    private final StringProperty title = new SimpleStringProperty("");
    private final StringProperty text = new SimpleStringProperty("");
    private final StringProperty result = new SimpleStringProperty("");
    private final BooleanProperty active = new SimpleBooleanProperty(false);
    private List<Lessons.Step> steps = List.of();
    private Lesson pending;
    private int startStep;
    private Evaluation baseline, previous;
    /** The user's model, plan and history before the lesson, put back at its end. */
    private SessionViewModel.Snapshot saved;

    public TeachingViewModel(SessionViewModel session) {
        this.session = session;
        session.analysisProperty().addListener((o, a, n) -> {
            if (pending != null) return; // the lesson's own model: it begins once that is shown
            if (n != null && active.get() && (steps.isEmpty()
                    || steps.get(0).plan().schedule() != n.schedule())) {
                end(false); // the user opened another model: that one stays
            }
        });
        session.evaluationProperty().addListener((o, a, e) -> {
            if (!active.get() || e == null || step.get() < 0 || step.get() >= steps.size()) return;
            if (e.plan() != steps.get(step.get()).plan()) return;
            if (step.get() == 0) baseline = e;
            if (step.get() > 0 && previous == null) previous = baseline;
            describe(e);
            session.highlightedProperty().set(steps.get(step.get()).focus());
        });
    }

    public ObjectProperty<Lesson> lessonProperty() { return lesson; }
    public IntegerProperty stepProperty() { return step; }
    public IntegerProperty stepCountProperty() { return stepCount; }
    public StringProperty titleProperty() { return title; }
    public StringProperty textProperty() { return text; }
    /** What the current step saved and cost, against the previous step and the baseline. */
    public StringProperty resultProperty() { return result; }
    public BooleanProperty activeProperty() { return active; }

    /** Opens the lesson's model and shows the first step once it is profiled. */
    public void start(Lesson l) {
        start(l, 0);
    }

    /** Starts a lesson at a given step (for scripted screenshots and demos). */
    public void start(Lesson l, int firstStep) {
        if (!active.get()) {
            int edits = session.handEditsProperty().get();
            if (edits > 0 && !session.confirm("Start the lesson", "The lesson opens " + MODEL + " at batch " + BATCH
                    + " and changes its plan step by step. Your model and plan, with your " + edits + " hand edit"
                    + (edits == 1 ? "" : "s") + ", come back when you press End demo.", "Start the lesson")) return;
            saved = session.analysis() == null ? null : session.snapshot();
        }
        startStep = firstStep;
        lesson.set(l);
        active.set(true);
        title.set(l.title);
        text.set("Opening " + MODEL + "\u2026");
        result.set("");
        Analysis a = session.analysis();
        if (a != null && a.model().name().equals(MODEL) && a.graph().batch() == BATCH) {
            begin(l, a);
            return;
        }
        pending = l;
        session.afterNextOpen(opened -> {
            if (pending != l) return;
            pending = null;
            begin(l, opened);
        });
        session.batchProperty().set(BATCH);
        // lessons train in full; the snapshot keeps the user's setup for when the lesson ends
        session.training().set(TrainingSettings.Values.DEFAULT);
        session.openSample(MODEL);
    }

    private void begin(Lesson l, Analysis a) {
        // every step simulated at once: a tiny model, so this takes a few milliseconds
        steps = Lessons.build(l, a, session.deviceProperty().get());
        stepCount.set(steps.size());
        baseline = previous = null;
        session.budgetBytesProperty().set(-1);
        if (!steps.isEmpty()) baseline = steps.get(0).eval(); // the reference for what a step saved
        if (steps.isEmpty()) {
            text.set("This model has no tensor this technique applies to.");
            return;
        }
        show(Math.max(0, Math.min(startStep, steps.size() - 1)));
        startStep = 0;
    }

    public void next() {
        if (step.get() + 1 < steps.size()) show(step.get() + 1);
    }

    public void previous() {
        if (step.get() > 0) show(step.get() - 1);
    }

    /** Ends the lesson and gives back the user's model and plan as they were before it. */
    public void stop() {
        end(true);
    }

    private void end(boolean restore) {
        SessionViewModel.Snapshot back = saved;
        saved = null;
        active.set(false);
        pending = null;
        steps = List.of();
        step.set(-1);
        stepCount.set(0);
        title.set("");
        text.set("");
        result.set("");
        if (restore && back != null) session.restore(back);
    }

    private void show(int i) {
        Lessons.Step s = steps.get(i);
        previous = i == 0 ? null : session.evaluation();
        step.set(i);
        title.set(lesson.get().title + " \u2014 " + s.title());
        text.set(s.text());
        result.set("");
        session.selectedNodeProperty().set(-1);
        session.selectedTensorProperty().set(-1);
        session.showEvaluation(s.eval(), "Lesson step " + (i + 1) + ": " + s.title());
    }

    private void describe(Evaluation e) {
        if (step.get() == 0 || baseline == null) {
            result.set(String.format(Locale.ROOT, "Peak %s, iteration %s (predicted on the %s device model).",
                    Fmt.bytes(e.peakBytes()),
                    Fmt.seconds(e.iterationSeconds()), session.deviceProperty().get().name()));
            return;
        }
        long saved = baseline.peakBytes() - e.peakBytes();
        StringBuilder b = new StringBuilder();
        if (saved > 0)
            b.append(String.format(Locale.ROOT, "Peak %s \u2192 %s: saved %s (%.1f%%). ",
                    Fmt.bytes(baseline.peakBytes()),
                    Fmt.bytes(e.peakBytes()), Fmt.bytes(saved), 100.0 * saved / baseline.peakBytes()));
        else if (saved == 0) b.append("Peak stays at ").append(Fmt.bytes(e.peakBytes())).append(". ");
        else b.append("Peak ").append(Fmt.bytes(baseline.peakBytes())).append(" \u2192 ")
                .append(Fmt.bytes(e.peakBytes()))
                .append(": ").append(Fmt.bytes(-saved)).append(" more. ");
        b.append(String.format(Locale.ROOT, "Time %s \u2192 %s (%s).", Fmt.seconds(baseline.iterationSeconds()),
                Fmt.seconds(e.iterationSeconds()),
                        Fmt.percent(e.iterationSeconds() / baseline.iterationSeconds() - 1)));
        if (e.bytesMoved() > 0) b.append(" Moved over the host link: ").append(Fmt.bytes(e.bytesMoved())).append('.');
        if (e.sim() != null && e.sim().stallSeconds() > 0) b.append(" Stalls: ")
                .append(Fmt.seconds(e.sim().stallSeconds())).append('.');
        if (e.sim() != null && e.sim().recomputeSeconds() > 0) b.append(" Recomputing: ")
                .append(Fmt.seconds(e.sim().recomputeSeconds())).append('.');
        if (previous != null && step.get() > 1) {
            long vs = previous.peakBytes() - e.peakBytes();
            b.append(" Against the previous step: ").append(vs == 0 ? "same peak" : Fmt.bytes(Math.abs(vs))
                    + (vs > 0 ? " less" : " more")).append('.');
        }
        result.set(b.toString());
    }
}

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

    public TeachingViewModel(SessionViewModel session) {
        this.session = session;
        session.analysisProperty().addListener((o, a, n) -> {
            if (pending != null && n != null) {
                Lesson l = pending;
                pending = null;
                begin(l, n);
            } else if (n != null && active.get() && (steps.isEmpty() || steps.get(0).plan().schedule() != n.schedule())) stop();
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
        session.batchProperty().set(BATCH);
        session.openSample(MODEL);
    }

    private void begin(Lesson l, Analysis a) {
        steps = Lessons.build(l, a);
        stepCount.set(steps.size());
        baseline = previous = null;
        session.budgetBytesProperty().set(-1);
        if (!steps.isEmpty()) // the reference for "saved": a tiny model, so this takes a few milliseconds
            baseline = SessionViewModel.evaluate(a, steps.get(0).plan(), session.deviceProperty().get());
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

    public void stop() {
        active.set(false);
        pending = null;
        steps = List.of();
        step.set(-1);
        stepCount.set(0);
        title.set("");
        text.set("");
        result.set("");
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
        session.applyPlan(s.plan(), "Teaching: " + s.title());
    }

    private void describe(Evaluation e) {
        if (step.get() == 0 || baseline == null) {
            result.set(String.format(Locale.ROOT, "Peak %s, iteration %s (predicted on %s).", Fmt.bytes(e.peakBytes()),
                    Fmt.seconds(e.iterationSeconds()), session.deviceProperty().get().name()));
            return;
        }
        long saved = baseline.peakBytes() - e.peakBytes();
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Peak %s \u2192 %s: saved %s (%.0f%%). ", Fmt.bytes(baseline.peakBytes()), Fmt.bytes(e.peakBytes()),
                Fmt.bytes(saved), baseline.peakBytes() == 0 ? 0 : 100.0 * saved / baseline.peakBytes()));
        b.append(String.format(Locale.ROOT, "Time %s \u2192 %s (%s).", Fmt.seconds(baseline.iterationSeconds()),
                Fmt.seconds(e.iterationSeconds()), Fmt.percent(e.iterationSeconds() / baseline.iterationSeconds() - 1)));
        if (e.bytesMoved() > 0) b.append(" Moved over the host link: ").append(Fmt.bytes(e.bytesMoved())).append('.');
        if (e.sim() != null && e.sim().stallSeconds() > 0) b.append(" Stalls: ").append(Fmt.seconds(e.sim().stallSeconds())).append('.');
        if (e.sim() != null && e.sim().recomputeSeconds() > 0) b.append(" Recomputing: ").append(Fmt.seconds(e.sim().recomputeSeconds())).append('.');
        if (saved == 0)
            b.append(" The peak did not move: at the peak other tensors dominate; the timeline shows where this step freed memory.");
        if (previous != null && previous.peakBytes() != e.peakBytes() && step.get() > 1)
            b.append(" Against the previous step: ").append(Fmt.bytes(previous.peakBytes() - e.peakBytes())).append(" less.");
        result.set(b.toString());
    }
}

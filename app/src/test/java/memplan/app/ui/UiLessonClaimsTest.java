package memplan.app.ui;

import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.teach.Lesson;
import memplan.app.ui.teach.Lessons;
import memplan.app.ui.teach.TeachingViewModel;
import memplan.ir.DType;
import memplan.plan.Plan;
import memplan.samples.SampleModels;
import memplan.sim.DeviceModel;
import memplan.train.Optimizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every sentence of a lesson that states a number states the one the simulator gives for that step: each step's
 * plan is simulated again here, independently, and the text is checked against it.
 */
class UiLessonClaimsTest {
    static final DeviceModel DEV = DeviceModel.preset("h100");

    static Analysis lessonModel() {
        return Analysis.of(SampleModels.load(TeachingViewModel.MODEL), TeachingViewModel.BATCH, DType.FP32, Optimizer.ADAM);
    }

    @ParameterizedTest
    @EnumSource(Lesson.class)
    void everyStepSaysWhatItsSimulationShows(Lesson lesson) {
        Analysis a = lessonModel();
        List<Lessons.Step> steps = Lessons.build(lesson, a, DEV);
        assertTrue(steps.size() >= 3, lesson + ": " + steps.size() + " steps");
        Evaluation base = SessionViewModel.evaluate(a, Plan.baseline(a.schedule()), DEV);
        Evaluation prev = base;
        for (int k = 0; k < steps.size(); k++) {
            Lessons.Step s = steps.get(k);
            String text = s.text();
            Evaluation e = SessionViewModel.evaluate(a, s.plan(), DEV);
            assertEquals(e.peakBytes(), s.eval().peakBytes());
            assertFalse(text.contains("Saved:"), text);
            assertFalse(text.matches("(?s).*\\bsmall\\b.*"), "no judgement the numbers do not make: " + text);
            if (k == 0) {
                assertTrue(text.contains("The peak, " + Fmt.bytes(base.peakBytes())), text);
                continue;
            }
            // against the baseline (first step after it) or, for later steps, against the baseline too
            String vsBase = claim(base, e);
            assertTrue(text.contains(vsBase) || text.contains(lower(vsBase)), "expected '" + vsBase + "' in: " + text);
            if (e.iterationSeconds() != base.iterationSeconds())
                assertTrue(text.contains(Fmt.seconds(e.iterationSeconds())), "the step's time in: " + text);
            if (e.bytesMoved() > 0) assertTrue(text.contains("Moved over the host link: " + Fmt.bytes(e.bytesMoved())), text);
            if (k >= 2 && prev.peakBytes() == e.peakBytes() && lesson == Lesson.SWAPPING)
                assertTrue(text.contains("saves nothing more"), "a step that saves no more than the last says so: " + text);
            if (k == steps.size() - 1 && lesson != Lesson.SWAPPING)
                assertTrue(text.contains(String.valueOf(s.focus().length)), "names how many tensors: " + text);
            prev = e;
        }
    }

    /** What the text must say about the peak, computed here from the two simulations. */
    static String claim(Evaluation from, Evaluation to) {
        long d = from.peakBytes() - to.peakBytes();
        if (d == 0) return "The peak stays at " + Fmt.bytes(to.peakBytes());
        if (d > 0) return "The peak falls from " + Fmt.bytes(from.peakBytes()) + " to " + Fmt.bytes(to.peakBytes());
        return "The peak rises from " + Fmt.bytes(from.peakBytes()) + " to " + Fmt.bytes(to.peakBytes());
    }

    static String lower(String s) {
        return Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }
}

package memplan.app.ui;

import memplan.app.ui.planner.PlannerViewModel;
import memplan.app.ui.planner.Planning;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.Technique;
import memplan.app.ui.teach.Lesson;
import memplan.app.ui.teach.TeachingViewModel;
import memplan.plan.Decision;
import memplan.plan.Plan;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Undo and redo of plan changes, asking before hand edits are replaced, and lessons giving the user's work back. */
class UiUndoTest {
    final List<String> asked = new ArrayList<>();
    boolean answer = true;

    SessionViewModel open(String model, int batch) {
        SessionViewModel s = UiSessionViewModelTest.session();
        s.setConfirmation((title, q, yes) -> {
            asked.add(q);
            return answer;
        });
        s.batchProperty().set(batch);
        s.openSample(model);
        assertEquals("", s.errorProperty().get());
        return s;
    }

    @Test
    void undoAndRedoWalkThroughHandEditsAndPlannerPlans() {
        SessionViewModel s = open("tiny-cnn", 8);
        Plan base = s.plan();
        assertFalse(s.canUndoProperty().get());
        int t = UiSessionViewModelTest.savedActivationLiveAtPeak(s);
        String name = s.analysis().schedule().tensor(t).name();
        assertTrue(s.setTechnique(t, Technique.RECOMPUTE));
        Plan edited = s.plan();
        long editedPeak = s.evaluation().peakBytes();
        assertEquals(1, s.handEditsProperty().get());
        assertTrue(s.canUndoProperty().get());
        assertEquals("Undo recompute '" + name + "'", s.undoTextProperty().get());

        PlannerViewModel planner = new PlannerViewModel(s, Planning.catalog());
        planner.budgetFractionProperty().set(0.5);
        answer = false;
        planner.apply();
        assertEquals(1, asked.size(), "Apply plan asks before replacing a hand edit");
        assertTrue(asked.get(0).contains("1 hand edit"), asked.get(0));
        assertSame(edited, s.plan(), "answering no keeps the edit");
        answer = true;
        planner.apply();
        assertEquals(2, asked.size());
        Plan planned = s.plan();
        assertNotSame(edited, planned);
        assertEquals(0, s.handEditsProperty().get());
        assertTrue(s.statusProperty().get().startsWith("Apply plan"), s.statusProperty().get());
        assertTrue(s.statusProperty().get().contains(Fmt.bytes(s.evaluation().peakBytes())), s.statusProperty().get());

        s.undo();
        assertArrayEquals(edited.decisions(), s.plan().decisions(), "undo after Apply plan brings the edit back");
        assertEquals(editedPeak, s.evaluation().peakBytes());
        assertEquals(1, s.handEditsProperty().get());
        assertTrue(s.statusProperty().get().startsWith("Undid apply plan"), s.statusProperty().get());
        s.undo();
        assertArrayEquals(base.decisions(), s.plan().decisions());
        assertFalse(s.canUndoProperty().get());
        s.redo();
        assertTrue(s.plan().decision(t) instanceof Decision.Recompute);
        s.redo();
        assertArrayEquals(planned.decisions(), s.plan().decisions());
        assertFalse(s.canRedoProperty().get());

        s.undo();
        s.setTechnique(t, Technique.KEEP); // a new change drops what could be redone
        assertFalse(s.canRedoProperty().get());
        assertEquals(base.changedCount(), s.plan().changedCount());
    }

    @Test
    void aLessonGivesBackTheModelThePlanAndTheHistory() {
        SessionViewModel s = open("tiny-transformer", 2);
        var analysis = s.analysis();
        int t = UiSessionViewModelTest.savedActivationLiveAtPeak(s);
        s.setTechnique(t, Technique.RECOMPUTE);
        Plan edited = s.plan();
        TeachingViewModel vm = new TeachingViewModel(s);
        answer = false;
        vm.start(Lesson.SWAPPING);
        assertEquals(1, asked.size(), "a lesson asks before replacing hand edits");
        assertFalse(vm.activeProperty().get());
        assertSame(edited, s.plan());
        answer = true;
        vm.start(Lesson.SWAPPING);
        assertEquals(TeachingViewModel.MODEL, s.analysis().model().name());
        vm.next();
        vm.stop();
        assertSame(analysis, s.analysis(), "the user's model is back, as it was");
        assertEquals("tiny-transformer", s.modelProperty().get().name());
        assertEquals(2, s.batchProperty().get());
        assertSame(edited, s.plan());
        assertEquals(1, s.handEditsProperty().get());
        s.undo();
        assertEquals(0, s.plan().changedCount(), "and so is its history");
    }

    @Test
    void aPlanForAnotherSampleOffersToOpenThatModel(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        SessionViewModel s = open("tiny-cnn", 8);
        int t = UiSessionViewModelTest.savedActivationLiveAtPeak(s);
        s.setTechnique(t, Technique.RECOMPUTE);
        var file = dir.resolve("cnn-plan.json");
        s.exportPlan(file);
        Plan exported = s.plan();
        s.batchProperty().set(2);
        s.openSample("tiny-mlp");
        answer = false;
        s.importPlan(file);
        assertEquals(1, asked.size());
        assertTrue(asked.get(0).contains("tiny-cnn at batch 8") && asked.get(0).contains("tiny-mlp at batch 2"), asked.get(0));
        assertEquals("tiny-mlp", s.analysis().model().name(), "no: the open model stays");
        assertTrue(s.errorProperty().get().contains("cnn-plan.json"), "and the reason is shown: " + s.errorProperty().get());
        answer = true;
        s.importPlan(file);
        assertEquals("", s.errorProperty().get());
        assertEquals("tiny-cnn", s.analysis().model().name());
        assertEquals(8, s.analysis().graph().batch());
        assertEquals(exported.changedCount(), s.plan().changedCount());
        assertTrue(s.plan().decision(t) instanceof Decision.Recompute);
        assertSame(s.plan(), s.evaluation().plan(), "the timeline shows the imported plan");
    }

    @Test
    void openingAnotherModelDuringALessonKeepsThatModel() {
        SessionViewModel s = open("tiny-transformer", 2);
        TeachingViewModel vm = new TeachingViewModel(s);
        vm.start(Lesson.COMPRESSION);
        s.openSample("tiny-mlp");
        assertFalse(vm.activeProperty().get());
        assertEquals("tiny-mlp", s.analysis().model().name());
    }
}

package memplan.app.ui;

import memplan.app.ui.teach.Lesson;
import memplan.app.ui.teach.TeachingViewModel;
import memplan.plan.PlanValidator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.*;

/** Every lesson opens its model, has several valid steps, and its last step lowers the peak and says by how much. */
class UiTeachingTest {
    @ParameterizedTest
    @EnumSource(Lesson.class)
    void lessonStepsChangeThePlanAndSayWhatTheySaved(Lesson lesson) {
        var session = UiSessionViewModelTest.session();
        TeachingViewModel vm = new TeachingViewModel(session);
        vm.start(lesson, 1); // straight to step 2, as -Dmemplan.step=1 does: what is drawn is that step's plan
        assertEquals(1, vm.stepProperty().get());
        assertSame(session.plan(), session.evaluation().plan(), "the timeline shows the step's plan");
        vm.previous();
        assertEquals("", session.errorProperty().get());
        assertTrue(vm.stepCountProperty().get() >= 3, "steps: " + vm.stepCountProperty().get());
        assertEquals(0, vm.stepProperty().get());
        long base = session.evaluation().peakBytes();
        assertTrue(vm.resultProperty().get().startsWith("Peak"), vm.resultProperty().get());
        assertTrue(session.highlightedProperty().get().length > 0, "step 0 points at a tensor");
        int prevChanged = 0;
        while (vm.stepProperty().get() + 1 < vm.stepCountProperty().get()) {
            vm.next();
            assertTrue(PlanValidator.problems(session.plan()).isEmpty());
            assertTrue(session.plan().changedCount() > prevChanged, "each step changes more of the plan");
            prevChanged = session.plan().changedCount();
            assertTrue(session.highlightedProperty().get().length > 0);
            assertFalse(vm.textProperty().get().isBlank());
        }
        assertTrue(session.evaluation().peakBytes() < base, lesson + ": " + session.evaluation().peakBytes() + " vs " + base);
        assertTrue(vm.resultProperty().get().contains("saved"), vm.resultProperty().get());
        vm.previous();
        assertEquals(vm.stepCountProperty().get() - 2, vm.stepProperty().get());
    }
}

package memplan.app.ui;

import javafx.event.ActionEvent;
import javafx.scene.control.CheckBox;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.stage.Stage;
import memplan.app.ui.session.RecentFiles;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.Technique;
import memplan.app.ui.task.DirectTaskRunner;
import memplan.train.Amp;
import memplan.train.BaseWeights;
import memplan.train.OptimizerStates;
import org.controlsfx.control.StatusBar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.framework.junit5.Start;
import org.testfx.util.WaitForAsyncUtils;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The training-setup controls of the Model tab, driven headless on tiny-llama: LoRA, freezing, accumulation, 8-bit
 * Adam, NF4 and autocast profile again; a bad value is said under the fields and profiles nothing.
 */
@ExtendWith(ApplicationExtension.class)
class UiTrainingSetupTest {
    MainWindow main;
    SessionViewModel session;

    @Start
    void start(Stage stage) {
        session = new SessionViewModel(new DirectTaskRunner(), new RecentFiles(null));
        main = MainWindowStage.show(stage, session, 1260, 780);
    }

    private void open(FxRobot robot) {
        robot.interact(() -> session.batchProperty().set(4));
        robot.clickOn("#sample-tiny-llama");
        WaitForAsyncUtils.waitForFxEvents();
        assertNotNull(session.analysis(), session.errorProperty().get());
    }

    private static void type(FxRobot robot, String id, String text) {
        TextField f = robot.lookup("#" + id).queryAs(TextField.class);
        robot.interact(() -> {
            f.setText(text);
            f.fireEvent(new ActionEvent());   // Enter
        });
        WaitForAsyncUtils.waitForFxEvents();
    }

    private static Label problem(FxRobot robot) {
        return robot.lookup("#setupProblem").queryAs(Label.class);
    }

    private long trainable() {
        return session.analysis().schedule().trainableParameters();
    }

    @Test
    void loraAndFreezingProfileAgainWithFewerTrainedParameters(FxRobot robot) {
        open(robot);
        long fullPeak = session.evaluation().peakBytes(), all = trainable();
        robot.interact(() -> robot.lookup("#loraCheck").queryAs(CheckBox.class).fire());
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals("", session.errorProperty().get());
        // q_proj (32 -> 32) and v_proj (32 -> 16) in both layers at r 8
        assertEquals(2L * ((32 * 8 + 8 * 32) + (32 * 8 + 8 * 16)), trainable());
        assertTrue(session.evaluation().peakBytes() < fullPeak, "LoRA lowers the peak");
        String status = robot.lookup("#status").queryAs(StatusBar.class).getText();
        assertTrue(status.contains("LoRA r=8 on q_proj, v_proj"), status);
        type(robot, "loraRank", "2");
        assertEquals(2L * ((32 * 2 + 2 * 32) + (32 * 2 + 2 * 16)), trainable());
        robot.interact(() -> robot.lookup("#loraCheck").queryAs(CheckBox.class).fire());
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(all, trainable(), "LoRA off: everything trains again");
        type(robot, "freezeField", "model.embed_tokens,model.layers.0");
        long frozen = trainable();
        assertTrue(frozen < all && frozen > 0, frozen + " of " + all);
        type(robot, "gradAccumField", "4");
        assertEquals(4, session.analysis().schedule().setup().microBatches());
    }

    @Test
    void choicesOfStateWeightsAndAutocastReachTheProfile(FxRobot robot) {
        open(robot);
        robot.interact(() -> robot.lookup("#loraCheck").queryAs(CheckBox.class).fire());
        robot.interact(() -> robot.lookup("#adam8bitCheck").queryAs(CheckBox.class).fire());
        @SuppressWarnings("unchecked")
        ChoiceBox<BaseWeights> base = robot.lookup("#baseWeightsChoice").queryAs(ChoiceBox.class);
        robot.interact(() -> base.setValue(BaseWeights.NF4));
        @SuppressWarnings("unchecked")
        ChoiceBox<Amp> amp = robot.lookup("#ampChoice").queryAs(ChoiceBox.class);
        robot.interact(() -> amp.setValue(Amp.BF16));
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals("", session.errorProperty().get());
        var setup = session.analysis().schedule().setup();
        assertEquals(OptimizerStates.BLOCKWISE_8BIT, setup.optimizerStates());
        assertEquals(BaseWeights.NF4, setup.baseWeights());
        assertEquals(Amp.BF16, setup.amp());
        assertFalse(problem(robot).isVisible());
    }

    @Test
    void badValuesAreSaidUnderTheFieldsAndProfileNothing(FxRobot robot) {
        open(robot);
        var before = session.analysis();
        robot.interact(() -> robot.lookup("#loraCheck").queryAs(CheckBox.class).fire());
        WaitForAsyncUtils.waitForFxEvents();
        var lora = session.analysis();
        assertNotSame(before, lora);
        type(robot, "loraRank", "x");
        assertTrue(problem(robot).isVisible());
        assertEquals("LoRA rank: 'x' is not a whole number", problem(robot).getText());
        assertSame(lora, session.analysis(), "nothing profiled");
        type(robot, "loraRank", "4");
        assertFalse(problem(robot).isVisible());
        type(robot, "loraTargets", "attn.q");
        assertTrue(problem(robot).getText().startsWith("LoRA: LoRA targets attn.q name no Linear layer of tiny-llama"),
                problem(robot).getText());
        type(robot, "loraTargets", "q_proj");
        assertFalse(problem(robot).isVisible(), problem(robot).getText());
        type(robot, "gradAccumField", "0");
        assertEquals("Gradient accumulation must be at least 1, got 0", problem(robot).getText());
        type(robot, "gradAccumField", "1");
        type(robot, "freezeField", "nothing.like.this");
        assertTrue(problem(robot).getText().startsWith("Freeze: 'nothing.like.this' names no parameter"),
                problem(robot).getText());
        type(robot, "freezeField", "");
        robot.interact(() -> robot.lookup("#loraCheck").queryAs(CheckBox.class).fire());
        @SuppressWarnings("unchecked")
        ChoiceBox<BaseWeights> base = robot.lookup("#baseWeightsChoice").queryAs(ChoiceBox.class);
        robot.interact(() -> base.setValue(BaseWeights.NF4));
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(problem(robot).getText().startsWith("NF4 base weights store frozen Linear weights"),
                problem(robot).getText());
    }

    /** A new setup is a new profile, as a new batch size is: the plan history starts again from its baseline. */
    @Test
    void aNewSetupStartsTheUndoHistoryAsANewBatchSizeDoes(FxRobot robot) {
        open(robot);
        int t = UiSessionViewModelTest.savedActivationLiveAtPeak(session);
        robot.interact(() -> assertTrue(session.setTechnique(t, Technique.RECOMPUTE)));
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(session.canUndoProperty().get());
        type(robot, "gradAccumField", "2");
        assertFalse(session.canUndoProperty().get());
        assertEquals(0, session.plan().changedCount());
    }
}

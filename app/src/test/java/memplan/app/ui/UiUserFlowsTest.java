package memplan.app.ui;

import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.scene.input.KeyCode;
import javafx.stage.Stage;
import memplan.app.ui.session.RecentFiles;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.Technique;
import memplan.app.ui.task.DirectTaskRunner;
import memplan.ir.TensorRole;
import memplan.plan.Decision;
import memplan.plan.Plan;
import org.controlsfx.control.StatusBar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.framework.junit5.Start;
import org.testfx.matcher.control.LabeledMatchers;
import org.testfx.util.WaitForAsyncUtils;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What a user does and expects, driven through the window headless: undo after Apply plan, the question before hand
 * edits are replaced, a lesson giving the model back, an axis that holds across an edit, a truthful status bar, the
 * layer properties, and the check before Run.
 */
@ExtendWith(ApplicationExtension.class)
class UiUserFlowsTest {
    MainWindow main;
    SessionViewModel session;

    @Start
    void start(Stage stage) {
        session = new SessionViewModel(new DirectTaskRunner(), new RecentFiles(null));
        main = MainWindowStage.show(stage, session, 1260, 780);
    }

    void open(FxRobot robot, String sample, int batch) {
        robot.interact(() -> session.batchProperty().set(batch));
        robot.clickOn("#sample-" + sample);
        WaitForAsyncUtils.waitForFxEvents();
        assertNotNull(session.analysis(), session.errorProperty().get());
    }

    void selectTab(FxRobot robot, String id) {
        robot.clickOn(robot.lookup(".tab").match(n -> id.equals(n.getId())).queryAs(Node.class));
        WaitForAsyncUtils.waitForFxEvents();
    }

    int editOneTensor(FxRobot robot) {
        int t = UiSessionViewModelTest.savedActivationLiveAtPeak(session);
        robot.interact(() -> assertTrue(session.setTechnique(t, Technique.RECOMPUTE)));
        WaitForAsyncUtils.waitForFxEvents();
        return t;
    }

    void answerDialog(FxRobot robot, String button) {
        WaitForAsyncUtils.waitForFxEvents();
        Button b = robot.lookup("#confirmDialog .button").match(LabeledMatchers.hasText(button)).queryAs(Button.class);
        assertNotNull(b, "a dialog with " + button);
        robot.clickOn(b);
        WaitForAsyncUtils.waitForFxEvents();
    }

    String status(FxRobot robot) {
        return robot.lookup("#status").queryAs(StatusBar.class).getText();
    }

    @Test
    void undoAfterApplyPlanBringsTheHandEditBack(FxRobot robot) {
        open(robot, "tiny-cnn", 8);
        int t = editOneTensor(robot);
        Plan edited = session.plan();
        assertTrue(status(robot).startsWith("Recompute '"), status(robot));
        assertFalse(status(robot).contains("click to redraw"), status(robot));
        selectTab(robot, "plannerTab");
        robot.interact(() -> main.planner().budgetFractionProperty().set(0.5));
        robot.clickOn("#applyPlanner");
        answerDialog(robot, "Cancel");
        assertSame(edited, session.plan(), "Cancel keeps the hand edit");
        robot.clickOn("#applyPlanner");
        answerDialog(robot, "Apply plan");
        assertNotSame(edited, session.plan());
        String s = status(robot);
        assertTrue(s.startsWith("Apply plan") && s.contains("peak " + Fmt.bytes(session.evaluation().peakBytes())),
                "the status names the plan's peak: " + s);
        robot.clickOn("#timelineCanvas"); // focus away from the side panel
        robot.press(KeyCode.CONTROL, KeyCode.Z).release(KeyCode.Z, KeyCode.CONTROL);
        WaitForAsyncUtils.waitForFxEvents();
        assertArrayEquals(edited.decisions(), session.plan().decisions(), "Ctrl+Z after Apply plan restores the edit");
        assertTrue(session.plan().decision(t) instanceof Decision.Recompute);
        assertTrue(status(robot).startsWith("Undid apply plan"), status(robot));
        robot.press(KeyCode.CONTROL, KeyCode.SHIFT, KeyCode.Z).release(KeyCode.Z, KeyCode.SHIFT, KeyCode.CONTROL);
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(0, session.handEditsProperty().get(), "redo: the planner's plan again");
        assertTrue(status(robot).startsWith("Redid apply plan"), status(robot));
    }

    @Test
    void theEditMenuNamesWhatItUndoes(FxRobot robot) {
        open(robot, "tiny-cnn", 8);
        int t = editOneTensor(robot);
        robot.clickOn("#editMenu");
        robot.clickOn(robot.lookup(".menu-item").match(n -> "undo".equals(n.getId())).queryAs(Node.class));
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(session.plan().decision(t) instanceof Decision.Keep);
        assertTrue(session.canRedoProperty().get());
        assertEquals("Redo recompute '" + session.analysis().schedule().tensor(t).name() + "'", session.redoTextProperty().get());
    }

    @Test
    void endingALessonGivesBackTheModelAndThePlan(FxRobot robot) {
        open(robot, "tiny-cnn", 8);
        var analysis = session.analysis();
        editOneTensor(robot);
        Plan edited = session.plan();
        selectTab(robot, "teachTab");
        robot.clickOn("#lesson-swapping");
        answerDialog(robot, "Start the lesson");
        assertEquals(64, session.analysis().graph().batch(), "the lesson opens its own model");
        robot.clickOn("#teachNext");
        WaitForAsyncUtils.waitForFxEvents();
        robot.clickOn("#teachStop");
        WaitForAsyncUtils.waitForFxEvents();
        assertSame(analysis, session.analysis());
        assertEquals(8, session.batchProperty().get());
        assertSame(edited, session.plan());
        assertTrue(status(robot).startsWith("Back to tiny-cnn"), status(robot));
    }

    @Test
    void theAxisHoldsAcrossAnEditAndThePreviousPeakStaysAsAGhost(FxRobot robot) {
        open(robot, "tiny-cnn", 8);
        var tl = main.timelineView();
        long top = tl.axisTopBytes();
        var labels = tl.tickLabels();
        long before = session.evaluation().peakBytes();
        for (String l : labels) assertTrue(l.matches("0|\\d+(\\.(5|25|75|\\d))? (B|KiB|MiB|GiB)"), "a round tick: " + l);
        assertEquals(-1, tl.ghostPeakBytes());
        editOneTensor(robot);
        assertTrue(session.evaluation().peakBytes() < before);
        assertEquals(top, tl.axisTopBytes(), "the y axis keeps the baseline's scale");
        assertEquals(labels, tl.tickLabels());
        assertEquals(before, tl.ghostPeakBytes(), "the peak before the edit is drawn as a ghost");
        var d = session.evaluation().timeline();
        assertTrue(tl.peakBreakdown().contains("activations " + Fmt.bytes(d.role(TensorRole.ACTIVATION, d.peakIndex()))),
                tl.peakBreakdown().toString());
        Label summary = robot.lookup("#timelineSummary").queryAs(Label.class);
        assertTrue(summary.getText().contains(session.deviceProperty().get().name()), "names the device model: " + summary.getText());
    }

    @Test
    void aLayerShowsItsPropertiesAndATableRowRevealsItsLayer(FxRobot robot) {
        open(robot, "tiny-transformer", 2);
        var a = session.analysis();
        var gv = main.graphView();
        var l = a.layout();
        int node = a.graph().nodes().size() - 2;
        robot.interact(() -> {
            gv.viewModel().centerOn(l, 0, gv.canvas().getWidth(), gv.canvas().getHeight());
            gv.viewModel().pan(0, 4000); // far away from the layer
            gv.redraw();
        });
        assertFalse(gv.isInView(node));
        int t = a.tensorsOf(node)[0];
        var table = main.tableView().table();
        robot.interact(() -> {
            int idx = table.getItems().indexOf(main.tableView().row(t));
            table.scrollTo(idx);
            table.getSelectionModel().clearAndSelect(idx);
        });
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(gv.isInView(node), "selecting a tensor in the table brings its layer into view");
        var vm = gv.viewModel();
        var p = gv.canvas().localToScreen(vm.toViewX(l.x(node)), vm.toViewY(l.y(node)));
        robot.moveTo(p);
        WaitForAsyncUtils.waitForFxEvents();
        String name = a.graph().nodes().get(node).name();
        assertTrue(gv.tooltipText().startsWith(name + "\n"), "the tooltip names the layer in full: " + gv.tooltipText());
        robot.clickOn(p);
        WaitForAsyncUtils.waitForFxEvents();
        var props = gv.shownProperties();
        assertNotNull(props);
        assertEquals(name, props.name());
        assertEquals(a.tensorsOf(node).length, props.tensors().size());
        Label shown = robot.lookup("#propName").queryAs(Label.class);
        assertEquals(name, shown.getText());
        assertTrue(gv.isLabelled(node), "a selected layer at this zoom is labelled");
    }

    @Test
    void theTimeAxisZoomsWithTheWheelAndABrushAndWholeIterationShowsItAll(FxRobot robot) {
        open(robot, "tiny-cnn", 8);
        var tl = main.timelineView();
        var c = tl.canvas();
        double[] all = tl.visibleRange();
        var mid = c.localToScreen(c.getWidth() / 2, c.getHeight() / 2);
        // the wheel, as the canvas receives it (the headless robot's wheel sends no delta)
        var inScene = c.localToScene(c.getWidth() / 2, c.getHeight() / 2);
        robot.interact(() -> c.fireEvent(new javafx.scene.input.ScrollEvent(javafx.scene.input.ScrollEvent.SCROLL,
                inScene.getX(), inScene.getY(), mid.getX(), mid.getY(), false, false, false, false, false, false,
                0, 120, 0, 120, javafx.scene.input.ScrollEvent.HorizontalTextScrollUnits.NONE, 0,
                javafx.scene.input.ScrollEvent.VerticalTextScrollUnits.NONE, 0, 0, null)));
        double[] in = tl.visibleRange();
        assertTrue(in[1] - in[0] < 0.85 * (all[1] - all[0]), java.util.Arrays.toString(in) + " of " + java.util.Arrays.toString(all));
        robot.clickOn("#timelineWhole");
        WaitForAsyncUtils.waitForFxEvents();
        assertArrayEquals(all, tl.visibleRange(), 1e-9);
        assertFalse(robot.lookup("#timelineWhole").query().isVisible());
        // brush: drag across the middle fifth of the plot
        var from = c.localToScreen(c.getWidth() * 0.4, c.getHeight() / 2);
        var to = c.localToScreen(c.getWidth() * 0.6, c.getHeight() / 2);
        robot.drag(from, javafx.scene.input.MouseButton.PRIMARY).dropTo(to);
        WaitForAsyncUtils.waitForFxEvents();
        double[] brushed = tl.visibleRange();
        assertTrue(brushed[1] - brushed[0] < 0.3 * (all[1] - all[0]), java.util.Arrays.toString(brushed));
        assertTrue(brushed[0] > all[0] && brushed[1] < all[1]);
    }

    @Test
    void theTensorFilterStartsEmptyForTheNextModel(FxRobot robot) {
        open(robot, "tiny-cnn", 8);
        TextField filter = robot.lookup("#tensorFilter").queryAs(TextField.class);
        robot.interact(() -> filter.setText("conv1"));
        assertTrue(main.tableView().table().getItems().size() < session.analysis().schedule().tensorCount());
        open(robot, "tiny-mlp", 8);
        assertEquals("", filter.getText());
        assertEquals(session.analysis().schedule().tensorCount(), main.tableView().table().getItems().size());
    }

    @Test
    void theContextMenuKeepsUnderscores(FxRobot robot) {
        open(robot, "tiny-cnn", 8);
        var menu = main.graphView().nodeMenu(1);
        assertFalse(menu.getItems().isEmpty());
        for (var item : menu.getItems()) assertFalse(item.isMnemonicParsing(), item.getText());
    }

    @Test
    void aPlanTooBigForTheDeviceMemoryIsFlaggedBeforeRunWithOneClickFixes(FxRobot robot) {
        open(robot, "tiny-cnn", 64);
        selectTab(robot, "runTab");
        long peak = session.evaluation().peakBytes();
        TextField mem = robot.lookup("#deviceMemory").queryAs(TextField.class);
        robot.interact(() -> mem.setText("64KiB"));
        Label check = robot.lookup("#runCheck").queryAs(Label.class);
        assertTrue(check.isVisible() && check.getText().contains(Fmt.bytes(peak)), check.getText());
        assertFalse(check.getText().contains("--"), "speaks of the app's controls: " + check.getText());
        robot.clickOn("#fitMemory");
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(memplan.units.ByteSize.parse(mem.getText()) >= peak, mem.getText());
        assertEquals("", check.getText());
        assertFalse(robot.lookup("#runCheckBox").query().isVisible());

        long lower = session.analysis().profile().lowerBound();
        long cap = peak - peak / 20; // less than the peak, with room for a plan
        assertTrue(cap - cap / 10 > lower, lower + " vs " + cap);
        robot.interact(() -> mem.setText(cap + ""));
        assertTrue(check.getText().contains("more than the device memory"), check.getText());
        robot.clickOn("#planForMemory");
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(session.evaluation().peakBytes() <= cap, session.evaluation().peakBytes() + " > " + cap);
        assertEquals("", check.getText(), "the new plan fits: nothing to flag");
    }
}

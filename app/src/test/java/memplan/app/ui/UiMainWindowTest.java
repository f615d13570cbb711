package memplan.app.ui;

import javafx.scene.Scene;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Label;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.stage.Stage;
import memplan.app.ui.session.RecentFiles;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.Technique;
import memplan.app.ui.table.TensorRow;
import memplan.app.ui.task.DirectTaskRunner;
import org.controlsfx.control.StatusBar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.framework.junit5.Start;
import org.testfx.util.WaitForAsyncUtils;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Drives the main window as a user would, headless (Monocle), on a tiny model. */
@ExtendWith(ApplicationExtension.class)
class UiMainWindowTest {
    MainWindow main;
    SessionViewModel session;

    @Start
    void start(Stage stage) {
        session = new SessionViewModel(new DirectTaskRunner(), new RecentFiles(null));
        main = MainWindowStage.show(stage, session, 1260, 780);
    }

    void openTinyCnn(FxRobot robot) {
        robot.interact(() -> session.batchProperty().set(8));
        robot.clickOn("#sample-tiny-cnn");
        WaitForAsyncUtils.waitForFxEvents();
        assertNotNull(session.analysis(), session.errorProperty().get());
    }

    @Test
    void openSampleShowsGraphTimelineAndTable(FxRobot robot) {
        openTinyCnn(robot);
        StatusBar status = robot.lookup("#status").queryAs(StatusBar.class);
        assertTrue(status.getText().contains("tensors"), status.getText());
        Label summary = robot.lookup("#timelineSummary").queryAs(Label.class);
        assertTrue(summary.getText().startsWith("peak "), summary.getText());
        TableView<?> table = robot.lookup("#tensorTableView").queryAs(TableView.class);
        assertEquals(session.analysis().schedule().tensorCount(), table.getItems().size());
    }

    @Test
    void toggleATensorToRecomputeAndSeeThePeakChange(FxRobot robot) {
        openTinyCnn(robot);
        long before = session.evaluation().peakBytes();
        int t = UiSessionViewModelTest.savedActivationLiveAtPeak(session);
        @SuppressWarnings("unchecked")
        TableView<TensorRow> table = robot.lookup("#tensorTableView").queryAs(TableView.class);
        TensorRow row = main.tableView().row(t);
        @SuppressWarnings("unchecked")
        TableColumn<TensorRow, Technique> col = (TableColumn<TensorRow, Technique>) table.getColumns().stream()
                .filter(c -> "techniqueColumn".equals(c.getId())).findFirst().orElseThrow();
        int idx = table.getItems().indexOf(row);
        robot.interact(() -> {
            table.scrollTo(idx);
            table.getSelectionModel().clearAndSelect(idx);
        });
        WaitForAsyncUtils.waitForFxEvents();
        robot.interact(() -> table.edit(idx, col));
        WaitForAsyncUtils.waitForFxEvents();
        @SuppressWarnings("unchecked")
        ComboBox<Technique> combo = robot.lookup(".table-cell .combo-box").queryAs(ComboBox.class);
        robot.clickOn(combo);
        WaitForAsyncUtils.waitForFxEvents();
        robot.clickOn(robot.lookup(".combo-box-popup .list-cell").match(org.testfx.matcher.control.LabeledMatchers.hasText("recompute"))
                .queryAs(javafx.scene.control.ListCell.class));
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals("", session.errorProperty().get());
        assertEquals(Technique.RECOMPUTE, row.techniqueProperty().get());
        long after = session.evaluation().peakBytes();
        assertTrue(after < before, after + " vs " + before);
        Label summary = robot.lookup("#timelineSummary").queryAs(Label.class);
        assertTrue(summary.getText().contains(Fmt.bytes(after)), summary.getText());
        assertFalse(Double.isNaN(session.lastEditMillisProperty().get()), "click-to-redraw time is recorded");
        String status = robot.lookup("#status").queryAs(StatusBar.class).getText();
        assertTrue(status.startsWith("Recompute '" + row.name() + "'") && status.contains(Fmt.bytes(after)), status);
    }

    @Test
    void clickingALayerSelectsItsTensorsInTheTable(FxRobot robot) {
        openTinyCnn(robot);
        var l = session.analysis().layout();
        int node = 2;
        var canvas = main.graphView().canvas();
        var vm = main.graphView().viewModel();
        var p = canvas.localToScreen(vm.toViewX(l.x(node)), vm.toViewY(l.y(node)));
        robot.clickOn(p);
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(node, session.selectedNodeProperty().get());
        TableView<?> table = robot.lookup("#tensorTableView").queryAs(TableView.class);
        assertEquals(session.analysis().tensorsOf(node).length, table.getSelectionModel().getSelectedItems().size());
    }

    void selectTab(FxRobot robot, String id) {
        robot.clickOn(robot.lookup(".tab").match(n -> id.equals(n.getId())).queryAs(javafx.scene.Node.class));
        WaitForAsyncUtils.waitForFxEvents();
    }

    @Test
    void applyAPlannerWithABudgetAndSeeThePeakUnderIt(FxRobot robot) {
        openTinyCnn(robot);
        selectTab(robot, "plannerTab");
        var vm = main.planner();
        robot.interact(() -> {
            vm.plannerProperty().set("hybrid-greedy");
            vm.budgetFractionProperty().set(0.8);
        });
        long budget = vm.budgetBytesProperty().get();
        assertTrue(budget < session.evaluation().peakBytes());
        assertEquals(-1, session.budgetBytesProperty().get(), "no budget line before the user chose a budget");
        robot.clickOn("#applyPlanner");
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(budget, session.budgetBytesProperty().get(), "the budget line is drawn on the timeline");
        assertTrue(session.evaluation().peakBytes() <= budget, session.evaluation().peakBytes() + " > " + budget);
        assertTrue(session.plan().changedCount() > 0);
        Label result = robot.lookup("#plannerResult").queryAs(Label.class);
        assertTrue(result.getText().contains("\u2264"), result.getText());
        // the decisions appear in the table
        long changedRows = main.tableView().table().getItems().stream().filter(r -> r.techniqueProperty().get() != Technique.KEEP).count();
        assertEquals(session.plan().changedCount(), changedRows);
    }

    @Test
    void compareTwoPlannersSideBySide(FxRobot robot) {
        openTinyCnn(robot);
        selectTab(robot, "compareTab");
        var vm = main.planner();
        robot.interact(() -> {
            vm.plannerAProperty().set("baseline");
            vm.plannerBProperty().set("hybrid-greedy");
            vm.budgetFractionProperty().set(0.8);
        });
        robot.clickOn("#compareButton");
        WaitForAsyncUtils.waitForFxEvents();
        assertNotNull(vm.evalAProperty().get());
        assertNotNull(vm.evalBProperty().get());
        Label peakA = robot.lookup("#compareA-1").queryAs(Label.class), peakB = robot.lookup("#compareB-1").queryAs(Label.class);
        assertEquals(Fmt.bytes(vm.evalAProperty().get().peakBytes()), peakA.getText());
        assertEquals(Fmt.bytes(vm.evalBProperty().get().peakBytes()), peakB.getText());
        assertTrue(vm.evalBProperty().get().peakBytes() < vm.evalAProperty().get().peakBytes());
        Label changedB = robot.lookup("#compareB-6").queryAs(Label.class);
        assertFalse(changedB.getStyleClass().contains("good"), "more tensors changed is not better or worse");
    }

    @Test
    void teachingModeStepsThroughALesson(FxRobot robot) {
        selectTab(robot, "teachTab");
        robot.clickOn("#lesson-recomputation");
        WaitForAsyncUtils.waitForFxEvents();
        Label title = robot.lookup("#teachTitle").queryAs(Label.class);
        assertTrue(title.getText().startsWith("Recomputation"), title.getText());
        long base = session.evaluation().peakBytes();
        robot.clickOn("#teachNext");
        robot.clickOn("#teachNext");
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(session.evaluation().peakBytes() < base);
        Label result = robot.lookup("#teachResult").queryAs(Label.class);
        assertTrue(result.getText().contains("saved"), result.getText());
        assertTrue(session.plan().changedCount() > 0);
    }

    @Test
    void runTwoCpuIterationsAndSeeMeasuredValues(FxRobot robot) {
        openTinyCnn(robot);
        robot.clickOn(robot.lookup(".tab").match(n -> "runTab".equals(n.getId())).queryAs(javafx.scene.Node.class));
        WaitForAsyncUtils.waitForFxEvents();
        robot.interact(() -> main.runPanel().viewModel().iterationsProperty().set(2));
        robot.clickOn("#runButton");
        WaitForAsyncUtils.waitForFxEvents();
        var results = main.runPanel().viewModel().results();
        assertEquals(2, results.size(), main.runPanel().viewModel().summaryProperty().get());
        for (var r : results) {
            assertTrue(r.measuredPeakBytes() > 0);
            assertEquals(r.predictedPeakBytes(), r.measuredPeakBytes(), "CPU measured peak equals the prediction");
        }
        Label summary = robot.lookup("#runSummary").queryAs(Label.class);
        assertTrue(summary.getText().contains("measured peak"), summary.getText());
        javafx.scene.chart.LineChart<?, ?> chart = robot.lookup("#peakChart").queryAs(javafx.scene.chart.LineChart.class);
        assertEquals(2, chart.getData().get(0).getData().size());
        // calibrate: predictions now come from the measured step times, closer to what was measured
        double measured = results.get(results.size() - 1).seconds();
        robot.interact(() -> session.deviceProperty().set(memplan.sim.DeviceModel.preset("cpu")));
        robot.interact(session::resimulate);
        double roofline = session.evaluation().iterationSeconds();
        robot.clickOn("#calibrate");
        WaitForAsyncUtils.waitForFxEvents();
        assertFalse(session.deviceProperty().get().measuredStepSeconds().isEmpty());
        double calibrated = session.evaluation().iterationSeconds();
        assertTrue(Math.abs(calibrated - measured) < Math.abs(roofline - measured),
                "calibrated " + calibrated + " s, roofline " + roofline + " s, measured " + measured + " s");
        assertTrue(robot.lookup("#timelineSummary").queryAs(Label.class).getText().contains("measured step times"));
        assertTrue(robot.lookup("#calibration").queryAs(Label.class).getText().startsWith("Predicting from"));
    }

    @Test
    void rightClickALayerToRecomputeItsOutput(FxRobot robot) {
        openTinyCnn(robot);
        int t = UiSessionViewModelTest.savedActivationLiveAtPeak(session);
        int node = session.analysis().nodeOf(t);
        var l = session.analysis().layout();
        var vm = main.graphView().viewModel();
        robot.interact(() -> vm.centerOn(l, node, main.graphView().canvas().getWidth(), main.graphView().canvas().getHeight()));
        robot.interact(() -> main.graphView().redraw());
        var p = main.graphView().canvas().localToScreen(vm.toViewX(l.x(node)), vm.toViewY(l.y(node)));
        long before = session.evaluation().peakBytes();
        robot.rightClickOn(p);
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(node, session.selectedNodeProperty().get());
        var menu = (javafx.scene.control.ContextMenu) javafx.stage.Window.getWindows().stream()
                .filter(w -> w instanceof javafx.scene.control.ContextMenu && w.isShowing()).findFirst().orElseThrow();
        var item = robot.from(menu.getScene().getRoot()).lookup(".menu-item")
                .match(n -> n.lookup(".label") instanceof Label lb && "recompute".equals(lb.getText())).queryAs(javafx.scene.Node.class);
        robot.clickOn(item);
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals("", session.errorProperty().get());
        assertTrue(session.plan().decision(t) instanceof memplan.plan.Decision.Recompute);
        assertTrue(session.evaluation().peakBytes() < before);
    }

    @Test
    void aBrokenModelFileShowsAMessageNotACrash(FxRobot robot, @TempDir Path dir) throws Exception {
        Path bad = dir.resolve("broken.json");
        Files.writeString(bad, "{\"format\": \"memplan-model\", \"layers\": [{\"name\": \"a\", \"op\": \"Conv9d\"}]}");
        robot.interact(() -> session.openFile(bad));
        Label banner = robot.lookup("#errorBanner").queryAs(Label.class);
        assertTrue(banner.isVisible());
        assertTrue(banner.getText().contains("broken.json"), banner.getText());
    }

    @Test
    void closingTheErrorBarClearsTheError(FxRobot robot, @TempDir Path dir) throws Exception {
        Path bad = dir.resolve("broken.json");
        Files.writeString(bad, "{\"format\": \"memplan-model\", \"layers\": []");
        robot.interact(() -> session.openFile(bad));
        assertFalse(session.errorProperty().get().isEmpty());
        WaitForAsyncUtils.waitFor(5, java.util.concurrent.TimeUnit.SECONDS,
                () -> robot.lookup("#errorPane").queryAs(org.controlsfx.control.NotificationPane.class).isShowing());
        robot.clickOn(robot.lookup("#errorPane .close-button").queryAs(javafx.scene.Node.class));
        WaitForAsyncUtils.waitFor(5, java.util.concurrent.TimeUnit.SECONDS, () -> session.errorProperty().get().isEmpty());
    }

    @Test
    void exportAPlanAndImportItBack(FxRobot robot, @TempDir Path dir) {
        openTinyCnn(robot);
        robot.interact(() -> {
            main.planner().plannerProperty().set("hybrid-greedy");
            main.planner().budgetFractionProperty().set(0.7);
            main.planner().apply();
        });
        WaitForAsyncUtils.waitForFxEvents();
        var planned = session.plan();
        long peak = session.evaluation().peakBytes();
        assertTrue(planned.changedCount() > 0);
        Path f = dir.resolve("plan.json");
        robot.interact(() -> session.exportPlan(f));
        assertTrue(Files.exists(f));
        robot.interact(() -> session.applyPlan(memplan.plan.Plan.baseline(session.analysis().schedule()), "reset"));
        assertEquals(0, session.plan().changedCount());
        robot.interact(() -> session.importPlan(f));
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals("", session.errorProperty().get());
        assertArrayEquals(planned.decisions(), session.plan().decisions());
        assertEquals(peak, session.evaluation().peakBytes());
    }

    @Test
    void aPlanForAnotherBatchIsRefusedWithAReason(FxRobot robot, @TempDir Path dir) {
        openTinyCnn(robot);
        Path f = dir.resolve("other.json");
        robot.interact(() -> session.exportPlan(f));
        robot.interact(() -> {
            session.batchProperty().set(4);
            session.reprofile();
        });
        var before = session.plan();
        java.util.List<String> asked = new java.util.ArrayList<>();
        session.setConfirmation((t, q, yes) -> asked.add(q) && false); // "Open tiny-cnn at batch 8?" No.
        robot.interact(() -> session.importPlan(f));
        assertEquals(1, asked.size(), "offers to open the plan's model");
        assertTrue(asked.get(0).contains("tiny-cnn at batch 8"), asked.get(0));
        String e = session.errorProperty().get();
        assertTrue(e.contains("other.json") && !e.contains("Exception"), e);
        assertSame(before, session.plan());
        assertTrue(robot.lookup("#errorBanner").queryAs(Label.class).isVisible());
    }

    @Test
    void savesTimelineAndGraphAsPng(FxRobot robot, @TempDir Path dir) throws Exception {
        openTinyCnn(robot);
        Path tl = dir.resolve("t.png"), gr = dir.resolve("g.png");
        robot.interact(() -> {
            try {
                main.saveTimelinePng(tl);
                main.saveGraphPng(gr);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertTrue(Files.size(tl) > 1000);
        assertTrue(Files.size(gr) > 1000);
    }
}

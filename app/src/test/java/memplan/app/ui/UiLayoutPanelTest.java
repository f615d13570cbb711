package memplan.app.ui;

import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.Spinner;
import javafx.scene.control.TableView;
import javafx.stage.Stage;
import memplan.app.ui.parallel.LayoutPanel;
import memplan.app.ui.parallel.LayoutViewModel;
import memplan.app.ui.session.RecentFiles;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.task.DirectTaskRunner;
import memplan.graph.Graph;
import memplan.parallel.ParallelProfile;
import memplan.parallel.ShardMode;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.framework.junit5.Start;
import org.testfx.util.WaitForAsyncUtils;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The layout panel driven as a user would, headless: a layout, its ranks and timeline, bad combinations. */
@ExtendWith(ApplicationExtension.class)
class UiLayoutPanelTest {
    MainWindow main;
    SessionViewModel session;

    @Start
    void start(Stage stage) {
        session = new SessionViewModel(new DirectTaskRunner(), new RecentFiles(null));
        main = MainWindowStage.show(stage, session, 1260, 900);
    }

    private void open(FxRobot robot) {
        robot.interact(() -> session.batchProperty().set(8));
        robot.clickOn("#sample-tiny-cnn");
        WaitForAsyncUtils.waitForFxEvents();
        assertNotNull(session.analysis(), session.errorProperty().get());
        robot.clickOn(robot.lookup(".tab").match(n -> "layoutTab".equals(n.getId())).queryAs(Node.class));
        WaitForAsyncUtils.waitForFxEvents();
    }

    @SuppressWarnings("unchecked")
    private static void set(FxRobot robot, String id, int v) {
        Spinner<Integer> s = robot.lookup("#" + id).queryAs(Spinner.class);
        robot.interact(() -> s.getValueFactory().setValue(v));
    }

    @Test
    void zeroOneRanksAreListedWithTheHighestMarkedOnTable(FxRobot robot) {
        open(robot);
        LayoutPanel panel = robot.lookup("#layoutPanel").queryAs(LayoutPanel.class);
        LayoutViewModel vm = panel.viewModel();
        set(robot, "worldSize", 4);
        robot.interact(() -> vm.shardProperty().set(ShardMode.ZERO1));
        robot.clickOn("#computeLayout");
        WaitForAsyncUtils.waitForFxEvents();
        TableView<?> table = robot.lookup("#rankTable").queryAs(TableView.class);
        assertEquals(4, table.getItems().size(), "every ZeRO-1 rank");
        // the rows are the engine's ranks at the micro-batch of 8 / 4, and the marked one has the highest peak
        ParallelProfile p = ParallelProfile.of(vmSchedule(2), vm.resultProperty().get().layout());
        long most = 0;
        int marked = 0;
        for (LayoutViewModel.RankRow r : vm.rows()) {
            most = Math.max(most, r.plannedBytes());
            if (r.highest()) marked++;
        }
        assertEquals(1, marked);
        assertEquals(p.highest().peakBytes(), most);
        LayoutViewModel.RankRow h = vm.rows().stream().filter(LayoutViewModel.RankRow::highest).findFirst().get();
        assertEquals(most, h.plannedBytes());
        assertTrue(h.buffers().contains("DDP gradient buckets"), h.buffers());
        assertTrue(panel.highestLabel().startsWith("highest peak: rank " + h.rank()), panel.highestLabel());
        Label summary = robot.lookup("#layoutSummary").queryAs(Label.class);
        assertTrue(summary.getText().startsWith("Highest rank " + h.rank()), summary.getText());
    }

    private Schedule vmSchedule(int micro) {
        Schedule whole = session.analysis().schedule();
        Graph g = Graph.instantiate(whole.graph().model(), micro, whole.graph().floatType());
        return TrainingGraph.derive(g, whole.optimizer(), whole.framework(), whole.setup());
    }

    @Test
    void aPipelineHasOneRankPerStageAndBadCombinationsAreSaidInline(FxRobot robot) {
        open(robot);
        LayoutViewModel vm = robot.lookup("#layoutPanel").queryAs(LayoutPanel.class).viewModel();
        Button compute = robot.lookup("#computeLayout").queryAs(Button.class);
        Label problem = robot.lookup("#layoutProblem").queryAs(Label.class);
        set(robot, "worldSize", 4);
        set(robot, "tensorParallel", 3);
        assertTrue(problem.isVisible() && problem.getText().contains("not a multiple"), problem.getText());
        assertTrue(compute.isDisabled());
        set(robot, "tensorParallel", 1);
        set(robot, "pipelineStages", 4);
        robot.interact(() -> vm.shardProperty().set(ShardMode.ZERO3));
        assertTrue(problem.getText().contains("more than one data-parallel rank"), problem.getText());
        robot.interact(() -> vm.shardProperty().set(ShardMode.NONE));
        set(robot, "microBatches", 3);
        assertTrue(problem.getText().contains("does not split"), problem.getText());
        set(robot, "pipelineStages", 2);
        set(robot, "microBatches", 4);
        assertFalse(problem.isVisible(), problem.getText());
        assertFalse(compute.isDisabled());
        robot.clickOn("#computeLayout");
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(2, vm.rows().size(), "dp=2 ranks alike: one row per stage");
        assertEquals(0, vm.rows().get(0).stage());
        assertEquals(1, vm.rows().get(1).stage());
        assertTrue(vm.rows().get(0).buffers().contains("stash"), vm.rows().get(0).buffers());
        // a layout the model cannot take (more stages than layers) comes back as a problem, not a crash
        set(robot, "worldSize", 1024);
        set(robot, "pipelineStages", 1024);
        set(robot, "microBatches", 8);
        assertTrue(problem.getText().isEmpty(), problem.getText());
        robot.clickOn("#computeLayout");
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(problem.getText().contains("stages needs"), problem.getText());
    }
}

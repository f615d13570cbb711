package memplan.app.ui;

import javafx.application.Platform;
import javafx.stage.Stage;
import memplan.app.ui.task.FxTaskRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.framework.junit5.Start;
import org.testfx.util.WaitForAsyncUtils;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** The app's task runner: work off the JavaFX thread, callbacks on it, progress bound while it runs, cancel. */
@ExtendWith(ApplicationExtension.class)
class UiTaskRunnerTest {
    @Start
    void start(Stage stage) {
    }

    @Test
    void runsWorkInTheBackgroundAndReportsOnTheFxThread() throws Exception {
        FxTaskRunner r = new FxTaskRunner();
        AtomicBoolean workOnFx = new AtomicBoolean(true), doneOnFx = new AtomicBoolean(false);
        AtomicReference<Integer> value = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        Platform.runLater(() -> r.run("sum", p -> {
            workOnFx.set(Platform.isFxApplicationThread());
            p.update(1, 2);
            return 42;
        }, v -> {
            doneOnFx.set(Platform.isFxApplicationThread());
            value.set(v);
            done.countDown();
        }, e -> fail(e)));
        assertTrue(done.await(20, TimeUnit.SECONDS));
        assertFalse(workOnFx.get(), "work must not run on the JavaFX thread");
        assertTrue(doneOnFx.get());
        assertEquals(42, value.get());
        WaitForAsyncUtils.waitForFxEvents();
        assertFalse(r.runningProperty().get());
    }

    @Test
    void cancelStopsWorkAndSkipsTheCallback() throws Exception {
        FxTaskRunner r = new FxTaskRunner();
        CountDownLatch started = new CountDownLatch(1);
        AtomicBoolean called = new AtomicBoolean(false);
        Platform.runLater(() -> r.run("loop", p -> {
            started.countDown();
            while (true) {
                p.checkCancelled();
                Thread.sleep(5);
            }
        }, v -> called.set(true), e -> called.set(true)));
        assertTrue(started.await(20, TimeUnit.SECONDS));
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(r.runningProperty().get());
        Platform.runLater(r::cancelCurrent);
        WaitForAsyncUtils.waitFor(20, TimeUnit.SECONDS, () -> !r.runningProperty().get());
        assertFalse(called.get());
        assertTrue(r.messageProperty().get().contains("cancelled"), r.messageProperty().get());
    }

    @Test
    void aRunInTheBackgroundFillsInLiveAndCancels() throws Exception {
        var session = new memplan.app.ui.session.SessionViewModel(r(), new memplan.app.ui.session.RecentFiles(null));
        CountDownLatch opened = new CountDownLatch(1);
        Platform.runLater(() -> {
            session.analysisProperty().addListener(o -> opened.countDown());
            session.batchProperty().set(4);
            session.openSample("tiny-cnn");
        });
        assertTrue(opened.await(30, TimeUnit.SECONDS));
        var run = new memplan.app.ui.run.RunViewModel(session, memplan.app.ui.run.BackendChoice.discover());
        Platform.runLater(() -> {
            run.iterationsProperty().set(100000);
            run.run();
        });
        WaitForAsyncUtils.waitFor(30, TimeUnit.SECONDS, () -> run.results().size() >= 2);
        assertTrue(run.runningProperty().get());
        assertTrue(session.runner().progressProperty().get() >= 0, "progress is reported");
        Platform.runLater(run::cancel);
        WaitForAsyncUtils.waitFor(30, TimeUnit.SECONDS, () -> !run.runningProperty().get());
        assertTrue(run.summaryProperty().get().startsWith("Cancelled after"), run.summaryProperty().get());
        var first = run.results().get(0);
        assertEquals(first.predictedPeakBytes(), first.measuredPeakBytes());
    }

    private static FxTaskRunner r() {
        return new FxTaskRunner();
    }
}

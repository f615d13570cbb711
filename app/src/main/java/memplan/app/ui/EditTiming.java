package memplan.app.ui;

import javafx.application.Platform;
import javafx.beans.InvalidationListener;
import javafx.beans.Observable;
import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.Technique;
import memplan.plan.Decision;
import memplan.plan.PlanValidator;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Measures click-to-redraw in the running app (hidden switch {@code -Dmemplan.measure=N}): once the model is open it
 * toggles N saved activations to recompute and back, one after another, through the same call the table's technique
 * cell makes, and logs each time from the call to the first layout pulse after the timeline redrew.
 */
final class EditTiming {
    private EditTiming() {
    }

    static void measure(SessionViewModel session, int n) {
        List<Double> times = new ArrayList<>();
        int[] next = {0};
        List<int[]> edits = new ArrayList<>();
        Runnable step = () -> {
            if (next[0] >= edits.size()) {
                double[] t = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                System.getLogger("memplan.app.ui").log(System.Logger.Level.INFO, String.format(Locale.ROOT,
                        "click-to-redraw on %s: %d edits, median %.1f ms, max %.1f ms, all %s",
                        session.analysis().model().name(), t.length, t.length == 0 ? 0 : t[t.length / 2],
                                t.length == 0 ? 0 : t[t.length - 1],
                        Arrays.toString(times.stream().map(d -> String.format(Locale.ROOT, "%.1f", d)).toArray())));
                return;
            }
            int[] e = edits.get(next[0]++);
            session.setTechnique(e[0], e[1] == 1 ? Technique.RECOMPUTE : Technique.KEEP);
        };
        session.lastEditMillisProperty().addListener((o, a, v) -> {
            times.add(v.doubleValue());
            Platform.runLater(step);
        });
        session.analysisProperty().addListener(new InvalidationListener() {
            @Override
            public void invalidated(Observable o) {
                session.analysisProperty().removeListener(this);
                Analysis a = session.analysis();
                var plan = session.plan();
                for (TensorInfo t : a.schedule().tensors()) {
                    if (edits.size() >= 2 * n) break;
                    if (t.kind() != TensorKind.ACTIVATION || !a.savedForBackward(t.id())) continue;
                    if (!PlanValidator.problems(plan.with(t.id(), Decision.RECOMPUTE)).isEmpty()) continue;
                    edits.add(new int[]{t.id(), 1});
                    edits.add(new int[]{t.id(), 0});
                }
                // let the first frame settle, then start
                new Thread(() -> {
                    try {
                        Thread.sleep(3000);
                    } catch (InterruptedException ignored) {
                    }
                    Platform.runLater(step);
                }).start();
            }
        });
    }
}

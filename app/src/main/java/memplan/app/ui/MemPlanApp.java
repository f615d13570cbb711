package memplan.app.ui;

import javafx.application.Application;
import javafx.application.Platform;
import javafx.beans.InvalidationListener;
import javafx.beans.Observable;
import javafx.scene.Scene;
import javafx.stage.Screen;
import javafx.stage.Stage;
import memplan.app.ui.parallel.LayoutViewModel;
import memplan.app.ui.session.RecentFiles;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.Technique;
import memplan.app.ui.task.FxTaskRunner;
import memplan.app.ui.teach.Lesson;
import memplan.parallel.ShardMode;
import memplan.samples.SampleModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The desktop app. Started by {@link memplan.app.Main} (the jar's main class) through {@link #launchApp(String[])}.
 * With no options it opens ResNet-18 at batch 32, profiled. Hidden switches for scripts and screenshots:
 * {@code -Dmemplan.open=NAME|FILE}, {@code -Dmemplan.batch=N},
 * {@code -Dmemplan.panel=model|planner|compare|run|teach|layout}
 * (planner and compare also apply or compare at once; layout with {@code -Dmemplan.layout=WORLD,TP,PP,SHARD,MICRO}
 * computes that layout), {@code
 * -Dmemplan.lesson=swapping|recomputation|sharing|compression}
 * with {@code -Dmemplan.step=K}, {@code -Dmemplan.select=LAYER}, {@code -Dmemplan.measure=N} (see {@link EditTiming}),
 * {@code -Dmemplan.lora=true} (LoRA on q_proj, v_proj).
 */
public class MemPlanApp extends Application {
    public static final String DEFAULT_MODEL = "resnet18";

    /** Opens the app (blocks until it is closed); throws when the toolkit cannot start. */
    public static void launchApp(String[] args) {
        Application.launch(MemPlanApp.class, args);
    }

    /** Why no window can open here (no display on Linux), or null. */
    public static String noDisplayReason() {
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) return null;
        if ("Monocle".equalsIgnoreCase(System.getProperty("glass.platform"))) return null;
        String d = System.getenv("DISPLAY"), w = System.getenv("WAYLAND_DISPLAY");
        if ((d == null || d.isBlank()) && (w == null || w.isBlank())) return "no display (DISPLAY is not set)";
        return null;
    }

    @Override
    public void start(Stage stage) {
        SessionViewModel session = new SessionViewModel(new FxTaskRunner(), RecentFiles.forUser());
        MainWindow main = Views.mainWindow(session);
        var screen = Screen.getPrimary().getVisualBounds();
        Scene scene = new Scene(main, Math.min(1560, screen.getWidth() - 20), Math.min(960, screen.getHeight() - 40));
        scene.getStylesheets().add(MemPlanApp.class.getResource("memplan.css").toExternalForm());
        stage.setTitle("MemPlan");
        stage.setScene(scene);
        stage.setOnCloseRequest(e -> Platform.exit());
        stage.show();
        String panel = System.getProperty("memplan.panel");
        if (panel != null) main.showPanel(panel + "Tab");
        String lesson = System.getProperty("memplan.lesson");
        if (lesson != null) {
            main.showPanel("teachTab");
            main.teachPanel().viewModel().start(Lesson.valueOf(lesson.toUpperCase(Locale.ROOT)),
                    Integer.getInteger("memplan.step", 0));
            return;
        }
        if ("run".equals(panel) && Integer.getInteger("memplan.iterations", 0) > 0) {
            session.analysisProperty().addListener(new InvalidationListener() {
                @Override
                public void invalidated(Observable o) {
                    session.analysisProperty().removeListener(this);
                    Platform.runLater(() -> {
                        main.runPanel().viewModel().iterationsProperty().set(Integer.getInteger("memplan.iterations"));
                        main.runPanel().viewModel().run();
                    });
                }
            });
        }
        if ("compare".equals(panel) || "planner".equals(panel)) {
            session.analysisProperty().addListener(new InvalidationListener() {
                @Override
                public void invalidated(Observable o) {
                    session.analysisProperty().removeListener(this);
                    if (System.getProperty("memplan.budget") != null)
                        main.planner().budgetFractionProperty()
                                .set(Double.parseDouble(System.getProperty("memplan.budget")));
                    if (panel.equals("compare")) main.planner().compare();
                    else main.planner().apply();
                }
            });
        }
        if ("layout".equals(panel) && System.getProperty("memplan.layout") != null) {
            // -Dmemplan.layout=WORLD,TP,PP,SHARD,MICRO-BATCHES: set the layout panel and compute it
            String[] f = System.getProperty("memplan.layout").split(",", -1);
            session.analysisProperty().addListener(new InvalidationListener() {
                @Override
                public void invalidated(Observable o) {
                    session.analysisProperty().removeListener(this);
                    Platform.runLater(() -> {
                        LayoutViewModel vm = main.layoutPanel().viewModel();
                        vm.worldSizeProperty().set(Integer.parseInt(f[0].trim()));
                        vm.tpProperty().set(Integer.parseInt(f[1].trim()));
                        vm.ppProperty().set(Integer.parseInt(f[2].trim()));
                        vm.shardProperty().set(ShardMode.parse(f[3].trim()));
                        vm.microBatchesProperty().set(Integer.parseInt(f[4].trim()));
                        vm.compute();
                    });
                }
            });
        }
        if (Boolean.getBoolean("memplan.fit"))
            session.analysisProperty().addListener(new InvalidationListener() {
                @Override
                public void invalidated(Observable o) {
                    session.analysisProperty().removeListener(this);
                    Platform.runLater(() -> main.graphView().fitAll());
                }
            });
        String select = System.getProperty("memplan.select");
        if (select != null)
            session.analysisProperty().addListener(new InvalidationListener() {
                @Override
                public void invalidated(Observable o) {
                    session.analysisProperty().removeListener(this);
                    var n = session.analysis().graph().node(select);
                    if (n != null) Platform.runLater(() -> session.selectedNodeProperty().set(n.index()));
                }
            });
        String edit = System.getProperty("memplan.edit"); // e.g. recompute:h\.\d+\.mlp\.gelu (a regex on tensor names)
        if (edit != null && edit.contains(":"))
            session.analysisProperty().addListener(new InvalidationListener() {
                @Override
                public void invalidated(Observable o) {
                    session.analysisProperty().removeListener(this);
                    Platform.runLater(() -> {
                        String tech = edit.substring(0, edit.indexOf(':'));
                        Pattern names =
                                Pattern.compile(edit.substring(edit.indexOf(':') + 1));
                        int[] ts = session.analysis().schedule().tensors().stream()
                                .filter(t -> names.matcher(t.name()).matches()).mapToInt(t -> t.id()).toArray();
                        for (Technique t : Technique.values())
                            if (t.label.equals(tech)) session.setTechniques(ts, t);
                    });
                }
            });
        if (Integer.getInteger("memplan.measure", 0) > 0) EditTiming.measure(session,
                Integer.getInteger("memplan.measure"));
        String open = System.getProperty("memplan.open", DEFAULT_MODEL);
        session.batchProperty().set(Integer.getInteger("memplan.batch", 32));
        if (Boolean.getBoolean("memplan.lora")) session.training().loraProperty().set(true);
        if (SampleModels.exists(open)) session.openSample(open);
        else if (Files.exists(Path.of(open))) session.openFile(Path.of(open));
        else session.errorProperty().set("'" + open + "' is neither a sample model nor a file");
    }
}

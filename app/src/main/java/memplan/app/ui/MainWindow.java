package memplan.app.ui;

import javafx.application.Platform;
import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.geometry.Orientation;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.control.Alert;
import javafx.scene.control.Button;
import javafx.scene.control.ButtonBar;
import javafx.scene.control.ButtonType;
import javafx.scene.control.Label;
import javafx.scene.control.Menu;
import javafx.scene.control.MenuBar;
import javafx.scene.control.MenuItem;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.SeparatorMenuItem;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.Tooltip;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyCodeCombination;
import javafx.scene.input.KeyCombination;
import javafx.scene.input.TransferMode;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.Region;
import javafx.stage.FileChooser;
import javafx.stage.Window;
import memplan.app.ui.graph.GraphView;
import memplan.app.ui.planner.ComparePanel;
import memplan.app.ui.planner.PlannerPanel;
import memplan.app.ui.planner.PlannerViewModel;
import memplan.app.ui.planner.Planning;
import memplan.app.ui.parallel.LayoutPanel;
import memplan.app.ui.run.RunPanel;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.TensorTableView;
import memplan.app.ui.teach.TeachPanel;
import memplan.app.ui.timeline.TimelineView;
import memplan.samples.SampleModels;
import org.controlsfx.control.NotificationPane;
import org.controlsfx.control.StatusBar;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;

/** The main window's content: side panels on the left, the layer graph, the timeline and the tensor table. */
public class MainWindow extends BorderPane {
    protected final SessionViewModel session;
    protected final GraphView graph;
    protected final TimelineView timeline;
    protected final TensorTableView table;
    protected final TabPane side = new TabPane();
    protected final RunPanel runPanel;
    protected final LayoutPanel layoutPanel;
    protected final TeachPanel teachPanel;
    protected final PlannerViewModel planner;
    private final StatusBar status = new StatusBar();
    private final Label error = new Label();
    private final Menu fileMenu = new Menu("File");

    public MainWindow(SessionViewModel session) {
        this.session = session;
        setId("mainWindow");
        getStyleClass().add("main-window");
        graph = new GraphView(session);
        timeline = new TimelineView(session);
        table = new TensorTableView(session);

        side.setId("sideTabs");
        side.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        side.setPrefWidth(380);
        side.setMinWidth(340);
        addSideTab("Model", "modelTab", new ModelPanel(session, this::chooseModelFile));
        planner = new PlannerViewModel(session, Planning.catalog());
        addSideTab("Plan", "plannerTab", new PlannerPanel(session, planner));
        addSideTab("Compare", "compareTab", new ComparePanel(session, planner));
        runPanel = new RunPanel(session);
        runPanel.viewModel().setPlanFor(budget -> {
            planner.setBudget(budget);
            planner.apply();
        });
        addSideTab("Run", "runTab", runPanel);
        layoutPanel = new LayoutPanel(session);
        addSideTab("Layout", "layoutTab", layoutPanel);
        teachPanel = new TeachPanel(session);
        addSideTab("Teach", "teachTab", teachPanel);

        SplitPane right = new SplitPane(timeline, table);
        right.setOrientation(Orientation.VERTICAL);
        right.setDividerPositions(0.52);
        SplitPane views = new SplitPane(graph, right);
        views.setDividerPositions(0.34);

        // Errors drop down over the top of the graph and the timeline in a ControlsFX NotificationPane (the side
        // panels stay reachable); its x, or a later success that clears the error, closes it.
        error.setId("errorBanner");
        error.getStyleClass().add("error-banner");
        error.textProperty().bind(session.errorProperty());
        error.visibleProperty().bind(session.errorProperty().isNotEmpty());
        Tooltip full = new Tooltip();
        full.setWrapText(true);
        full.setMaxWidth(700);
        full.textProperty().bind(session.errorProperty());
        error.setTooltip(full);
        NotificationPane errorPane = new NotificationPane(views);
        errorPane.setId("errorPane");
        errorPane.getStyleClass().add("error-pane");
        errorPane.setShowFromTop(true);
        errorPane.setFocusTraversable(false);
        errorPane.setCloseButtonVisible(true);
        errorPane.setGraphic(error);
        errorPane.setOnHiding(e -> session.errorProperty().set(""));
        session.errorProperty().addListener((o, was, now) -> {
            if (now == null || now.isEmpty()) errorPane.hide();
            else errorPane.show();
        });
        if (!session.errorProperty().get().isEmpty()) errorPane.show();

        SplitPane center = new SplitPane(side, errorPane);
        center.setDividerPositions(0.24);
        SplitPane.setResizableWithParent(side, false);

        session.setConfirmation(this::confirm);
        setTop(menuBar());
        setCenter(center);
        setBottom(statusBar());

        // Click-to-redraw: once the timeline has drawn an edit's result and the scene has laid it out, record the time.
        session.evaluationProperty().addListener(o -> {
            if (!session.editPending() || getScene() == null) return;
            Scene sc = getScene();
            Runnable[] once = new Runnable[1];
            once[0] = () -> {
                sc.removePostLayoutPulseListener(once[0]);
                session.editRedrawn();
            };
            sc.addPostLayoutPulseListener(once[0]);
            Platform.requestNextPulse();
        });
        setOnDragOver(e -> {
            if (e.getDragboard().hasFiles()) e.acceptTransferModes(TransferMode.COPY);
            e.consume();
        });
        setOnDragDropped(e -> {
            boolean ok = false;
            if (e.getDragboard().hasFiles() && !e.getDragboard().getFiles().isEmpty()) {
                session.openFile(e.getDragboard().getFiles().get(0).toPath());
                ok = true;
            }
            e.setDropCompleted(ok);
            e.consume();
        });
    }

    protected Tab addSideTab(String title, String id, Region content) {
        ScrollPane sp = new ScrollPane(content);
        sp.setFitToWidth(true);
        sp.setHbarPolicy(ScrollPane.ScrollBarPolicy.NEVER);
        Tab t = new Tab(title, sp);
        t.setId(id);
        side.getTabs().add(t);
        return t;
    }

    /** Shows a side panel by tab id (e.g. "runTab"). */
    public void showPanel(String id) {
        for (Tab t : side.getTabs()) if (t.getId().equals(id)) side.getSelectionModel().select(t);
    }

    public SessionViewModel session() { return session; }
    public GraphView graphView() { return graph; }
    public TimelineView timelineView() { return timeline; }
    public TensorTableView tableView() { return table; }
    public RunPanel runPanel() { return runPanel; }
    public LayoutPanel layoutPanel() { return layoutPanel; }
    public TeachPanel teachPanel() { return teachPanel; }
    public PlannerViewModel planner() { return planner; }
    protected Menu fileMenu() { return fileMenu; }

    private MenuBar menuBar() {
        MenuItem open = new MenuItem("Open model\u2026");
        open.setOnAction(e -> chooseModelFile());
        Menu samples = new Menu("Open sample");
        for (String n : SampleModels.names()) {
            MenuItem m = new MenuItem(n);
            m.setOnAction(e -> session.openSample(n));
            samples.getItems().add(m);
        }
        MenuItem exportPlan = new MenuItem("Export plan\u2026");
        exportPlan.setId("exportPlan");
        exportPlan.setOnAction(e -> {
            File f = chooseSave("Export the plan", "plan.json", "MemPlan plans (*.json)", "*.json");
            if (f != null) session.exportPlan(f.toPath());
        });
        MenuItem exportPyTorch = new MenuItem("Export plan for PyTorch\u2026");
        exportPyTorch.setId("exportPyTorch");
        exportPyTorch.setOnAction(e -> {
            File f = chooseSave("Export the plan as a PyTorch module", "memplan_plan.py", "Python modules (*.py)",
                    "*.py");
            if (f != null) session.exportPyTorch(f.toPath());
        });
        MenuItem importPlan = new MenuItem("Import plan\u2026");
        importPlan.setOnAction(e -> {
            FileChooser fc = new FileChooser();
            fc.setTitle("Import a plan");
            fc.getExtensionFilters().add(new FileChooser.ExtensionFilter("MemPlan plans (*.json)", "*.json"));
            File f = fc.showOpenDialog(window());
            if (f != null) session.importPlan(f.toPath());
        });
        exportPlan.disableProperty().bind(session.planProperty().isNull());
        exportPyTorch.disableProperty().bind(session.planProperty().isNull());
        importPlan.disableProperty().bind(session.analysisProperty().isNull());
        MenuItem saveTimeline = new MenuItem("Save timeline as PNG\u2026");
        saveTimeline.setOnAction(e -> savePng(timeline.canvas(), "timeline.png"));
        MenuItem saveGraph = new MenuItem("Save graph as PNG\u2026");
        saveGraph.setOnAction(e -> savePng(graph.canvas(), "graph.png"));
        MenuItem quit = new MenuItem("Quit");
        quit.setOnAction(e -> Platform.exit());
        fileMenu.getItems().addAll(open, samples, new SeparatorMenuItem(), exportPlan, exportPyTorch, importPlan,
                new SeparatorMenuItem(), saveTimeline, saveGraph, new SeparatorMenuItem(), quit);
        MenuBar bar = new MenuBar(fileMenu, editMenu());
        bar.setId("menuBar");
        return bar;
    }

    /** Undo and redo of every plan change: hand edits, planners, Use A/B, imports, lesson steps. */
    private Menu editMenu() {
        MenuItem undo = new MenuItem();
        undo.setId("undo");
        undo.setMnemonicParsing(false); // tensor names have underscores
        undo.textProperty().bind(session.undoTextProperty());
        undo.disableProperty().bind(session.canUndoProperty().not());
        undo.setAccelerator(new KeyCodeCombination(KeyCode.Z, KeyCombination.SHORTCUT_DOWN));
        undo.setOnAction(e -> session.undo());
        MenuItem redo = new MenuItem();
        redo.setId("redo");
        redo.setMnemonicParsing(false);
        redo.textProperty().bind(session.redoTextProperty());
        redo.disableProperty().bind(session.canRedoProperty().not());
        redo.setAccelerator(new KeyCodeCombination(KeyCode.Z, KeyCombination.SHORTCUT_DOWN, KeyCombination.SHIFT_DOWN));
        redo.setOnAction(e -> session.redo());
        Menu edit = new Menu("Edit");
        edit.setId("editMenu");
        edit.getItems().addAll(undo, redo);
        // Ctrl+Y too, as many Windows programs have it; not a second menu item
        sceneProperty().addListener((o, was, sc) -> {
            if (sc != null) sc.getAccelerators().put(new KeyCodeCombination(KeyCode.Y, KeyCombination.SHORTCUT_DOWN),
                    session::redo);
        });
        return edit;
    }

    /** Asks before an action replaces hand edits: a dialog with the action and Cancel. */
    private boolean confirm(String title, String question, String yes) {
        ButtonType go = new ButtonType(yes, ButtonBar.ButtonData.OK_DONE);
        Alert a = new Alert(Alert.AlertType.CONFIRMATION, question, go, ButtonType.CANCEL);
        a.setTitle(title);
        a.setHeaderText(null);
        if (window() != null) a.initOwner(window());
        a.getDialogPane().setId("confirmDialog");
        return a.showAndWait().orElse(ButtonType.CANCEL) == go;
    }

    /** The ControlsFX status bar: the status line (with the click-to-redraw time) on the left, and while a task
     *  runs its message, its progress and Cancel on the right. */
    private StatusBar statusBar() {
        Button cancel = new Button("Cancel");
        cancel.setId("cancelTask");
        cancel.setOnAction(e -> session.runner().cancelCurrent());
        cancel.visibleProperty().bind(session.busyProperty());
        cancel.managedProperty().bind(session.busyProperty());
        Label msg = new Label();
        msg.textProperty().bind(session.runner().messageProperty());
        msg.visibleProperty().bind(session.busyProperty());
        status.setId("status");
        status.textProperty().bind(session.statusProperty());
        // The bar shows its progress bar while progress is not 0; -1 (indeterminate) counts as running.
        status.progressProperty().bind(Bindings.when(session.busyProperty())
                .then(session.runner().progressProperty()).otherwise(0.0));
        status.getRightItems().addAll(msg, cancel);
        status.setPadding(new Insets(4, 10, 4, 10));
        return status;
    }

    private Window window() {
        return getScene() == null ? null : getScene().getWindow();
    }

    private void chooseModelFile() {
        FileChooser fc = new FileChooser();
        fc.setTitle("Open a MemPlan model");
        fc.getExtensionFilters().addAll(new FileChooser.ExtensionFilter("Models (*.json, *.onnx)", "*.json", "*.onnx"),
                new FileChooser.ExtensionFilter("All files", "*.*"));
        File f = fc.showOpenDialog(window());
        if (f != null) session.openFile(f.toPath());
    }

    protected File chooseSave(String title, String name, String desc, String pattern) {
        FileChooser fc = new FileChooser();
        fc.setTitle(title);
        fc.setInitialFileName(name);
        fc.getExtensionFilters().add(new FileChooser.ExtensionFilter(desc, pattern));
        return fc.showSaveDialog(window());
    }

    private void savePng(Node node, String name) {
        File f = chooseSave("Save as PNG", name, "PNG images", "*.png");
        if (f == null) return;
        try {
            Png.save(node, f.toPath());
            session.statusProperty().set("Saved " + f);
        } catch (IOException ex) {
            session.errorProperty().set("Could not save " + f + ": " + ex.getMessage());
        }
    }

    /** Saves the timeline canvas as PNG (menu action without the dialog, for scripts and tests). */
    public void saveTimelinePng(Path p) throws IOException {
        Png.save(timeline.canvas(), p);
    }

    public void saveGraphPng(Path p) throws IOException {
        Png.save(graph.canvas(), p);
    }
}

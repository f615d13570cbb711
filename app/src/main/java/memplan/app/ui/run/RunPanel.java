package memplan.app.ui.run;

import javafx.beans.binding.Bindings;
import javafx.collections.ListChangeListener;
import javafx.geometry.Insets;
import javafx.scene.chart.LineChart;
import javafx.scene.chart.NumberAxis;
import javafx.scene.chart.XYChart;
import javafx.scene.control.Button;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.Spinner;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.SessionViewModel;
import memplan.exec.IterationResult;

import java.util.List;

/**
 * Runs the plan on a backend: CPU always, CUDA when found (otherwise greyed with the reason); iterations and device
 * memory; a progress bar and cancel; charts of measured against predicted peak and time, filled in live.
 */
public class RunPanel extends VBox {
    private final RunViewModel vm;
    private final XYChart.Series<Number, Number> measuredPeak = new XYChart.Series<>(),
            predictedPeak = new XYChart.Series<>();
    private List<LineChart<Number, Number>> charts = List.of();
    private final XYChart.Series<Number, Number> measuredTime = new XYChart.Series<>(),
            predictedTime = new XYChart.Series<>();

    public RunPanel(SessionViewModel session) {
        super(8);
        this.vm = new RunViewModel(session, BackendChoice.discover());
        setId("runPanel");
        setPadding(new Insets(10));
        Label t = new Label("Run the plan");
        t.getStyleClass().add("section-title");
        ComboBox<BackendChoice> backend = new ComboBox<>(vm.backends());
        backend.setId("backendChoice");
        backend.valueProperty().bindBidirectional(vm.backendProperty());
        backend.setCellFactory(v -> new ListCell<>() {
            @Override
            protected void updateItem(BackendChoice c, boolean empty) {
                super.updateItem(c, empty);
                setText(empty || c == null ? null : c.available() ? c.name() : c.name() + " \u2014 " + c.reason());
                setDisable(c != null && !c.available());
                setWrapText(true);
                setMaxWidth(300);
                getStyleClass().remove("unavailable");
                if (c != null && !c.available()) getStyleClass().add("unavailable");
            }
        });
        backend.setMaxWidth(Double.MAX_VALUE);
        Label backendInfo = new Label();
        backendInfo.getStyleClass().add("hint");
        backendInfo.setWrapText(true);
        StringBuilder b = new StringBuilder();
        for (BackendChoice c : vm.backends())
            b.append(c.name()).append(c.available() ? ": " + c.reason()
                    : ": not available \u2014 " + c.reason()).append('\n');
        backendInfo.setText(b.toString().trim());
        backendInfo.setId("backendInfo");

        Spinner<Integer> iters = new Spinner<>(1, 1000, vm.iterationsProperty().get());
        iters.setId("iterations");
        iters.setEditable(true);
        iters.setPrefWidth(90);
        iters.valueProperty().addListener((o, a, n) -> vm.iterationsProperty().set(n));
        TextField mem = new TextField();
        mem.setId("deviceMemory");
        mem.textProperty().bindBidirectional(vm.deviceMemoryProperty());
        mem.setPrefColumnCount(8);
        GridPane grid = new GridPane();
        grid.setHgap(8);
        grid.setVgap(6);
        grid.addRow(0, fixed("Backend"), backend);
        grid.addRow(1, fixed("Iterations"), iters);
        grid.addRow(2, fixed("Device memory"), mem);

        Button run = new Button("Run");
        run.setId("runButton");
        run.setDefaultButton(false);
        run.disableProperty().bind(vm.runningProperty().or(session.planProperty().isNull()));
        run.setOnAction(e -> {
            iters.increment(0);
            vm.run();
        });
        Button cancel = new Button("Cancel");
        cancel.setId("runCancel");
        cancel.disableProperty().bind(vm.runningProperty().not());
        cancel.setOnAction(e -> vm.cancel());
        ProgressBar progress = new ProgressBar(0);
        progress.setId("runProgress");
        progress.setPrefWidth(140);
        progress.visibleProperty().bind(vm.runningProperty());
        progress.progressProperty().bind(session.runner().progressProperty());
        HBox buttons = new HBox(8, run, cancel, progress);
        Button calibrate = new Button("Calibrate from this run");
        calibrate.setId("calibrate");
        calibrate.setTooltip(new Tooltip("Predict step times from what this run measured, not the roofline model"));
        calibrate.disableProperty().bind(vm.lastRunProperty().isNull().or(vm.runningProperty()));
        calibrate.setOnAction(e -> vm.calibrate());
        Label calibration = new Label();
        calibration.setId("calibration");
        calibration.getStyleClass().add("hint");
        calibration.setWrapText(true);
        calibration.textProperty().bind(vm.calibrationProperty());
        Label summary = new Label();
        summary.setId("runSummary");
        summary.setWrapText(true);
        summary.textProperty().bind(vm.summaryProperty());

        measuredPeak.setName("measured peak");
        predictedPeak.setName("predicted peak");
        measuredTime.setName("measured");
        predictedTime.setName("predicted");
        LineChart<Number, Number> peakChart = chart("Peak (MiB) per iteration", measuredPeak, predictedPeak);
        peakChart.setId("peakChart");
        LineChart<Number, Number> timeChart = chart("Time per iteration (ms)", measuredTime, predictedTime);
        timeChart.setId("timeChart");
        charts = List.of(peakChart, timeChart);
        vm.results().addListener((ListChangeListener<IterationResult>) c -> refill());

        Label check = new Label();
        check.setId("runCheck");
        check.getStyleClass().add("bad");
        check.setWrapText(true);
        check.textProperty().bind(vm.checkProperty());
        Button fit = new Button();
        fit.setId("fitMemory");
        fit.textProperty().bind(Bindings.createStringBinding(
                () -> "Set device memory to " + Fmt.bytes(vm.fitBytesProperty().get()), vm.fitBytesProperty()));
        fit.visibleProperty().bind(vm.fitBytesProperty().greaterThan(0));
        fit.managedProperty().bind(fit.visibleProperty());
        fit.setOnAction(e -> vm.fitDeviceMemory());
        Button plan = new Button();
        plan.setId("planForMemory");
        plan.textProperty().bind(Bindings.createStringBinding(
                () -> "Plan for " + Fmt.bytes(vm.planBudgetProperty().get()), vm.planBudgetProperty()));
        plan.setTooltip(new Tooltip("Runs the Plan tab's planner with nine tenths of the device memory as the budget "
                + "(the rest is room for the allocator)"));
        plan.visibleProperty().bind(vm.planBudgetProperty().greaterThan(0));
        plan.managedProperty().bind(plan.visibleProperty());
        plan.setOnAction(e -> vm.planForDeviceMemory());
        FlowPane fixes = new FlowPane(8, 6, fit, plan);
        VBox checkBox = new VBox(6, check, fixes);
        checkBox.setId("runCheckBox");
        checkBox.visibleProperty().bind(vm.checkProperty().isNotEmpty());
        checkBox.managedProperty().bind(checkBox.visibleProperty());

        peakChart.getStyleClass().add("run-chart");
        timeChart.getStyleClass().add("run-chart");
        getChildren().addAll(t, grid, backendInfo, checkBox, buttons, summary, calibrate, calibration, peakChart,
                timeChart);
    }

    public RunViewModel viewModel() { return vm; }

    private static Label fixed(String text) {
        Label l = new Label(text);
        l.setMinWidth(Region.USE_PREF_SIZE);
        return l;
    }

    private void refill() {
        measuredPeak.getData().clear();
        predictedPeak.getData().clear();
        measuredTime.getData().clear();
        predictedTime.getData().clear();
        int n = Math.max(2, vm.results().size());
        for (LineChart<Number, Number> c : charts) {
            NumberAxis x = (NumberAxis) c.getXAxis();
            x.setAutoRanging(false);
            x.setLowerBound(1);
            x.setUpperBound(n);
            x.setTickUnit(Math.max(1, Math.ceil(n / 10.0)));
        }
        for (IterationResult r : vm.results()) {
            int i = r.iteration();
            measuredPeak.getData().add(new XYChart.Data<>(i, r.measuredPeakBytes() / 1048576.0));
            predictedPeak.getData().add(new XYChart.Data<>(i, r.predictedPeakBytes() / 1048576.0));
            measuredTime.getData().add(new XYChart.Data<>(i, r.seconds() * 1000));
            predictedTime.getData().add(new XYChart.Data<>(i, r.predictedSeconds() * 1000));
        }
    }

    @SafeVarargs
    private static LineChart<Number, Number> chart(String title, XYChart.Series<Number, Number>... series) {
        NumberAxis x = new NumberAxis();
        x.setLabel("iteration");
        x.setForceZeroInRange(false);
        x.setTickUnit(1);
        x.setMinorTickVisible(false);
        NumberAxis y = new NumberAxis();
        y.setForceZeroInRange(true);
        LineChart<Number, Number> c = new LineChart<>(x, y);
        c.setTitle(title);
        c.setAnimated(false);
        c.setPrefHeight(240);
        c.setMinHeight(220);
        c.setLegendVisible(true);
        c.setCreateSymbols(true);
        c.getData().addAll(series);
        return c;
    }
}

package memplan.app.ui.planner;

import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.Slider;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.CalibratedCpu;
import memplan.app.ui.session.SessionViewModel;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;

/** Planner, budget slider and device model; applying shows the plan in the table, the graph and the timeline. */
public final class PlannerPanel extends VBox {
    public PlannerPanel(SessionViewModel session, PlannerViewModel vm) {
        super(10);
        setId("plannerPanel");
        setPadding(new Insets(10));
        Label head = new Label("Make a plan");
        head.getStyleClass().add("section-title");
        ChoiceBox<String> planner = new ChoiceBox<>();
        planner.setId("plannerChoice");
        planner.getItems().setAll(vm.catalog().names());
        planner.setConverter(vm.nameConverter());
        planner.valueProperty().bindBidirectional(vm.plannerProperty());
        session.analysisProperty().addListener(o -> vm.offeredFor(planner.getItems()));
        Label what = new Label();
        what.getStyleClass().add("hint");
        what.setWrapText(true);
        what.textProperty().bind(Bindings.createStringBinding(
                () -> vm.catalog().describe(vm.plannerProperty().get()), vm.plannerProperty()));
        Slider budget = new Slider(0, 1, vm.budgetFractionProperty().get());
        budget.setId("budgetSlider");
        budget.valueProperty().bindBidirectional(vm.budgetFractionProperty());
        budget.setTooltip(new Tooltip("From the lower bound (what one step must hold at once) to the baseline peak"));
        Label budgetLabel = new Label();
        budgetLabel.setId("budgetLabel");
        budgetLabel.getStyleClass().add("big-number");
        budgetLabel.textProperty().bind(Bindings.createStringBinding(
                () -> Fmt.bytes(vm.budgetBytesProperty().get()), vm.budgetBytesProperty()));
        Label range = new Label();
        range.getStyleClass().add("hint");
        range.setWrapText(true);
        Runnable fillRange = () -> range.setText(session.analysis() == null ? ""
                : "lower bound " + Fmt.bytes(vm.minBudget())
                + " \u2026 baseline peak " + Fmt.bytes(vm.maxBudget()));
        session.analysisProperty().addListener(o -> fillRange.run());
        fillRange.run();
        budget.valueChangingProperty().addListener((o, was, now) -> {
            if (now) vm.chooseBudget();
            if (!now) vm.apply(); // applying when the drag ends
        });
        budget.valueProperty().addListener((o, a, n) -> {
            if (!budget.isValueChanging() && budget.isFocused()) vm.apply(); // keys and clicks on the track
        });
        ChoiceBox<String> device = new ChoiceBox<>();
        device.setId("deviceChoice");
        device.getItems().setAll(DeviceModel.presetNames());
        device.setValue(session.deviceProperty().get().name());
        device.valueProperty().addListener((o, a, n) -> {
            // that device already (calibrated)
            if (n == null || session.deviceProperty().get().name().equals(n)) return;
            if (!n.equals("cpu")) {
                session.deviceProperty().set(DeviceModel.preset(n));
                session.resimulate();
                return;
            }
            // the cpu device is calibrated on this machine; the first time that runs probes, so in the background
            session.runner().run("Calibrating the cpu device model", CalibratedCpu::obtain, d -> {
                session.deviceProperty().set(d);
                session.resimulate();
            }, e -> {
                session.deviceProperty().set(DeviceModel.preset(n));
                session.resimulate();
            });
        });
        // a device model set elsewhere (calibrating from a run) shows here by its name
        session.deviceProperty().addListener((o, a, d) -> {
            if (d != null && !d.name().equals(device.getValue()) && device.getItems().contains(d.name()))
                device.setValue(d.name());
        });
        Button apply = new Button("Apply plan");
        apply.setId("applyPlanner");
        apply.setDefaultButton(true);
        apply.disableProperty().bind(session.analysisProperty().isNull());
        apply.setOnAction(e -> vm.apply());
        Button reset = new Button("Back to baseline");
        reset.setId("backToBaseline");
        reset.setOnAction(e -> {
            if (session.mayReplaceEdits("Back to baseline"))
                session.applyPlan(Plan.baseline(session.analysis().schedule()), "Back to baseline");
        });
        reset.disableProperty().bind(session.analysisProperty().isNull());
        Button stop = new Button("Stop search");
        stop.setId("stopSearch");
        stop.setTooltip(new Tooltip("End the solver's search now and apply the best plan it has found so far"));
        stop.visibleProperty().bind(vm.searchingProperty());
        stop.managedProperty().bind(vm.searchingProperty());
        stop.setOnAction(e -> vm.stopSearch());
        Label searchStatus = new Label();
        searchStatus.setId("searchStatus");
        searchStatus.getStyleClass().add("hint");
        searchStatus.setWrapText(true);
        searchStatus.textProperty().bind(vm.searchStatusProperty());
        Label result = new Label();
        result.setId("plannerResult");
        result.setWrapText(true);
        result.textProperty().bind(vm.resultProperty());
        GridPane grid = new GridPane();
        grid.setHgap(8);
        grid.setVgap(6);
        grid.addRow(0, new Label("Planner"), planner);
        grid.addRow(1, new Label("Device model"), device);
        Label budgetHead = new Label("Memory budget");
        budgetHead.getStyleClass().add("section-title");
        Label note = new Label("The plan appears in the table's Technique column, as badges on the graph, and on the "
                + "timeline with the budget as a red line.");
        note.getStyleClass().add("hint");
        note.setWrapText(true);
        getChildren().addAll(head, grid, what, budgetHead, budgetLabel, budget, range, new HBox(8, apply, reset, stop),
                searchStatus, result, note);
    }
}

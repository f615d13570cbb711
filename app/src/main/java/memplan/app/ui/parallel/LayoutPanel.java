package memplan.app.ui.parallel;

import javafx.beans.binding.Bindings;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.Spinner;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableRow;
import javafx.scene.control.TableView;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import javafx.util.StringConverter;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.SessionViewModel;
import memplan.parallel.PipelineSchedule;
import memplan.parallel.ShardMode;

import java.util.function.Function;

/**
 * The layout panel: how the session's model is spread over devices, and what each rank holds. The table lists every
 * distinct rank (the highest peak marked), the strips below are their timelines; both are computed in the background.
 */
public final class LayoutPanel extends VBox {
    private final LayoutViewModel vm;
    private final RankTimeline timeline = new RankTimeline(340);

    public LayoutPanel(SessionViewModel session) {
        this(session, new LayoutViewModel(session));
    }

    public LayoutPanel(SessionViewModel session, LayoutViewModel vm) {
        super(8);
        this.vm = vm;
        setId("layoutPanel");
        setPadding(new Insets(10));
        Label head = new Label("Spread over devices");
        head.getStyleClass().add("section-title");
        Label what = new Label("The model's batch is the global batch. Data parallelism takes the devices that tensor "
                + "and pipeline parallelism leave.");
        what.getStyleClass().add("hint");
        what.setWrapText(true);
        Spinner<Integer> world = spinner("worldSize", 1, 1 << 20, vm.worldSizeProperty().get());
        follow(world, vm.worldSizeProperty());
        Spinner<Integer> tp = spinner("tensorParallel", 1, 64, vm.tpProperty().get());
        follow(tp, vm.tpProperty());
        Spinner<Integer> pp = spinner("pipelineStages", 1, 1024, vm.ppProperty().get());
        follow(pp, vm.ppProperty());
        Spinner<Integer> micro = spinner("microBatches", 1, 4096, vm.microBatchesProperty().get());
        follow(micro, vm.microBatchesProperty());
        ChoiceBox<ShardMode> shard = new ChoiceBox<>();
        shard.setId("shardChoice");
        shard.getItems().setAll(ShardMode.values());
        shard.setConverter(converter(m -> m.label));
        shard.valueProperty().bindBidirectional(vm.shardProperty());
        ChoiceBox<PipelineSchedule> schedule = new ChoiceBox<>();
        schedule.setId("pipelineChoice");
        schedule.getItems().setAll(PipelineSchedule.values());
        schedule.setConverter(converter(p -> p.label));
        schedule.valueProperty().bindBidirectional(vm.pipelineProperty());
        CheckBox offOpt = new CheckBox("optimizer");
        offOpt.setId("offloadOptimizer");
        offOpt.selectedProperty().bindBidirectional(vm.offloadOptimizerProperty());
        CheckBox offPar = new CheckBox("parameters");
        offPar.setId("offloadParams");
        offPar.selectedProperty().bindBidirectional(vm.offloadParamsProperty());
        CheckBox plan = new CheckBox("Apply the current plan inside every rank");
        plan.setId("layoutWithPlan");
        plan.selectedProperty().bindBidirectional(vm.withPlanProperty());
        GridPane grid = new GridPane();
        grid.setHgap(8);
        grid.setVgap(6);
        grid.addRow(0, new Label("World size"), world);
        grid.addRow(1, new Label("Tensor parallel"), tp);
        grid.addRow(2, new Label("Pipeline stages"), pp);
        grid.addRow(3, new Label("Shard mode"), shard);
        grid.addRow(4, new Label("Offload"), new HBox(8, offOpt, offPar));
        grid.addRow(5, new Label("Micro-batches"), micro);
        grid.addRow(6, new Label("Schedule"), schedule);
        Label problem = new Label();
        problem.setId("layoutProblem");
        problem.getStyleClass().add("error-text");
        problem.setStyle("-fx-text-fill: #b91c1c;");
        problem.setWrapText(true);
        problem.textProperty().bind(vm.problemProperty());
        problem.visibleProperty().bind(vm.problemProperty().isNotEmpty());
        problem.managedProperty().bind(problem.visibleProperty());
        Button compute = new Button("Compute ranks");
        compute.setId("computeLayout");
        compute.disableProperty().bind(session.analysisProperty().isNull().or(vm.problemProperty().isNotEmpty()));
        compute.setOnAction(e -> vm.compute());
        compute.setTooltip(new Tooltip("Every distinct rank's memory over one iteration (in the background)"));
        ProgressBar progress = new ProgressBar();
        progress.setId("layoutProgress");
        progress.progressProperty().bind(session.runner().progressProperty());
        progress.visibleProperty().bind(vm.computingProperty());
        Label summary = new Label();
        summary.setId("layoutSummary");
        summary.setWrapText(true);
        summary.textProperty().bind(vm.summaryProperty());
        TableView<LayoutViewModel.RankRow> table = new TableView<>(vm.rows());
        table.setId("rankTable");
        table.setPrefHeight(170);
        table.getColumns().add(column("rank", r -> (r.highest() ? "\u25B2 " : "") + r.rank()));
        table.getColumns().add(column("stage", r -> String.valueOf(r.stage())));
        table.getColumns().add(column("peak", r -> Fmt.bytes(r.plannedBytes())));
        table.getColumns().add(column("unplanned", r -> Fmt.bytes(r.unplannedBytes())));
        table.getColumns().add(column("model states", r -> Fmt.bytes(r.modelStateBytes())));
        table.getColumns().add(column("buffers", LayoutViewModel.RankRow::buffers));
        table.setRowFactory(t -> new TableRow<>() {
            @Override
            protected void updateItem(LayoutViewModel.RankRow r, boolean empty) {
                super.updateItem(r, empty);
                setStyle(r != null && r.highest() ? "-fx-font-weight: bold;" : "");
            }
        });
        vm.resultProperty().addListener((o, a, r) -> timeline.draw(r));
        Label strips = new Label("Per rank over one iteration (one scale; the highest peak outlined in red)");
        strips.getStyleClass().add("hint");
        strips.setWrapText(true);
        getChildren().addAll(head, what, grid, plan, problem, new HBox(8, compute, progress), summary, table,
                strips, timeline);
        summary.visibleProperty().bind(Bindings.isNotEmpty(vm.summaryProperty()));
    }

    public LayoutViewModel viewModel() {
        return vm;
    }

    /** What the marked strip of the per-rank timeline says. */
    public String highestLabel() {
        return timeline.highestLabel();
    }

    /** The spinner sets the property, and shows what others set it to. */
    private static void follow(Spinner<Integer> s, IntegerProperty p) {
        s.valueProperty().addListener((o, a, n) -> {
            if (n != null && n != p.get()) p.set(n);
        });
        p.addListener((o, a, n) -> {
            if (!n.equals(s.getValue())) s.getValueFactory().setValue(n.intValue());
        });
    }

    private static Spinner<Integer> spinner(String id, int min, int max, int value) {
        Spinner<Integer> s = new Spinner<>(min, max, value);
        s.setId(id);
        s.setEditable(true);
        s.setPrefWidth(110);
        return s;
    }

    private static <T> StringConverter<T> converter(Function<T, String> name) {
        return new StringConverter<>() {
            @Override
            public String toString(T t) {
                return t == null ? "" : name.apply(t);
            }

            @Override
            public T fromString(String s) {
                return null;
            }
        };
    }

    private static TableColumn<LayoutViewModel.RankRow, String> column(String title,
            Function<LayoutViewModel.RankRow, String> value) {
        TableColumn<LayoutViewModel.RankRow, String> c = new TableColumn<>(title);
        c.setCellValueFactory(d -> new ReadOnlyStringWrapper(value.apply(d.getValue())));
        c.setSortable(false);
        return c;
    }
}

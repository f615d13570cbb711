package memplan.app.ui.planner;

import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.SessionViewModel;

/** Two planners at the same budget side by side: peak, time, overhead, bytes moved, and their timelines. */
public final class ComparePanel extends VBox {
    private final PlannerViewModel vm;
    private final GridPane table = new GridPane();
    private final MiniTimeline ta = new MiniTimeline(300, 120), tb = new MiniTimeline(300, 120);

    public ComparePanel(SessionViewModel session, PlannerViewModel vm) {
        super(10);
        this.vm = vm;
        setId("comparePanel");
        setPadding(new Insets(10));
        Label head = new Label("Compare two planners");
        head.getStyleClass().add("section-title");
        ChoiceBox<String> a = new ChoiceBox<>(), b = new ChoiceBox<>();
        a.setId("compareA");
        b.setId("compareB");
        a.getItems().setAll(vm.catalog().names());
        b.getItems().setAll(vm.catalog().names());
        a.setConverter(vm.nameConverter());
        b.setConverter(vm.nameConverter());
        session.analysisProperty().addListener(o -> {
            vm.offeredFor(a.getItems());
            vm.offeredFor(b.getItems());
        });
        a.valueProperty().bindBidirectional(vm.plannerAProperty());
        b.valueProperty().bindBidirectional(vm.plannerBProperty());
        Label budget = new Label();
        budget.textProperty().bind(Bindings.createStringBinding(
                () -> "at the budget " + Fmt.bytes(vm.budgetBytesProperty().get()) + " (set it in the Plan tab)",
                        vm.budgetBytesProperty()));
        budget.getStyleClass().add("hint");
        budget.setWrapText(true);
        Button run = new Button("Compare");
        run.setId("compareButton");
        run.disableProperty().bind(session.analysisProperty().isNull());
        run.setOnAction(e -> vm.compare());
        Label status = new Label();
        status.getStyleClass().add("hint");
        status.textProperty().bind(vm.compareStatusProperty());
        status.setWrapText(true);
        table.setId("compareTable");
        table.getStyleClass().add("compare-grid");
        table.setHgap(14);
        table.setVgap(5);
        Button useA = new Button("Use A");
        useA.setOnAction(e -> {
            vm.use(vm.evalAProperty().get(), "A");
        });
        Button useB = new Button("Use B");
        useB.setOnAction(e -> {
            vm.use(vm.evalBProperty().get(), "B");
        });
        useA.disableProperty().bind(vm.evalAProperty().isNull());
        useB.disableProperty().bind(vm.evalBProperty().isNull());
        vm.evalAProperty().addListener(o -> refresh());
        vm.evalBProperty().addListener(o -> refresh());
        GridPane picks = new GridPane();
        picks.setHgap(8);
        picks.setVgap(6);
        picks.addRow(0, new Label("A"), a);
        picks.addRow(1, new Label("B"), b);
        refresh();
        widthProperty().addListener((o, x, w) -> {
            double cw = Math.max(200, w.doubleValue() - 24);
            ta.setWidth(cw);
            tb.setWidth(cw);
            refresh();
        });
        getChildren().addAll(head, picks, budget, run, status, table, ta, tb, new HBox(8, useA, useB));
    }

    private void refresh() {
        table.getChildren().clear();
        Evaluation a = vm.evalAProperty().get(), b = vm.evalBProperty().get();
        long budget = vm.budgetBytesProperty().get();
        String na = vm.plannerAProperty().get(), nb = vm.plannerBProperty().get();
        table.addRow(0, head(""), head("A"), head("B"));
        if (a == null || b == null) {
            ta.draw(null, 0, 0, "A");
            tb.draw(null, 0, 0, "B");
            return;
        }
        row(1, "Peak", Fmt.bytes(a.peakBytes()), Fmt.bytes(b.peakBytes()), a.peakBytes() <= b.peakBytes());
        Label fa = fits(a, budget), fb = fits(b, budget);
        table.addRow(2, new Label("Fits budget"), fa, fb);
        row(3, "Time", Fmt.seconds(a.iterationSeconds()), Fmt.seconds(b.iterationSeconds()),
                a.iterationSeconds() <= b.iterationSeconds());
        row(4, "Overhead", Fmt.percent(a.overheadFraction()), Fmt.percent(b.overheadFraction()),
                a.overheadFraction() <= b.overheadFraction());
        row(5, "Moved", Fmt.bytes(a.bytesMoved()), Fmt.bytes(b.bytesMoved()), a.bytesMoved() <= b.bytesMoved());
        // how many tensors a plan changes is neither better nor worse: no colour
        Label ca = new Label(String.valueOf(a.plan().changedCount()));
        Label cb = new Label(String.valueOf(b.plan().changedCount()));
        ca.setId("compareA-6");
        cb.setId("compareB-6");
        table.addRow(6, new Label("Tensors changed"), ca, cb);
        long yMax = (long) (Math.max(Math.max(a.peakBytes(), b.peakBytes()), budget) * 1.1);
        ta.draw(a.timeline(), yMax, budget, "A: " + vm.displayName(na));
        tb.draw(b.timeline(), yMax, budget, "B: " + vm.displayName(nb));
    }

    private static Label head(String s) {
        Label l = new Label(s);
        l.getStyleClass().add("compare-head");
        return l;
    }

    private static Label fits(Evaluation e, long budget) {
        Label l = new Label(e.peakBytes() <= budget ? "yes" : "no");
        l.getStyleClass().add(e.peakBytes() <= budget ? "good" : "bad");
        return l;
    }

    private void row(int r, String what, String va, String vb, boolean aBetter) {
        Label la = new Label(va), lb = new Label(vb);
        boolean same = va.equals(vb);
        if (!same) (aBetter ? la : lb).getStyleClass().add("good");
        la.setMinWidth(Region.USE_PREF_SIZE);
        lb.setMinWidth(Region.USE_PREF_SIZE);
        la.setId("compareA-" + r);
        lb.setId("compareB-" + r);
        table.addRow(r, new Label(what), la, lb);
    }
}

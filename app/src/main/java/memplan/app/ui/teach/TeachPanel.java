package memplan.app.ui.teach;

import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import memplan.app.ui.session.SessionViewModel;

/** Teaching mode: pick a technique, then step through a short demo on a small model. */
public final class TeachPanel extends VBox {
    private final TeachingViewModel vm;

    public TeachPanel(SessionViewModel session) {
        super(10);
        this.vm = new TeachingViewModel(session);
        setId("teachPanel");
        setPadding(new Insets(10));
        Label head = new Label("Teaching mode");
        head.getStyleClass().add("section-title");
        Label intro = new Label("A guided demo of each technique on " + TeachingViewModel.MODEL + " at batch "
                + TeachingViewModel.BATCH
                + ". Each step changes the plan; the graph and timeline show what changed.");
        intro.setWrapText(true);
        intro.getStyleClass().add("hint");
        FlowPane lessons = new FlowPane(6, 6);
        for (Lesson l : Lesson.values()) {
            Button b = new Button(l.title);
            b.setId("lesson-" + l.name().toLowerCase());
            b.setOnAction(e -> vm.start(l));
            lessons.getChildren().add(b);
        }
        Label stepNo = new Label();
        stepNo.getStyleClass().add("teach-step");
        stepNo.textProperty().bind(Bindings.createStringBinding(
                () -> vm.stepProperty().get() < 0 ? "" : "Step " + (vm.stepProperty().get() + 1) + " of "
                        + vm.stepCountProperty().get(),
                vm.stepProperty(), vm.stepCountProperty()));
        Label title = new Label();
        title.setId("teachTitle");
        title.getStyleClass().add("section-title");
        title.setWrapText(true);
        title.textProperty().bind(vm.titleProperty());
        Label text = new Label();
        text.setId("teachText");
        text.getStyleClass().add("teach-text");
        text.setWrapText(true);
        text.textProperty().bind(vm.textProperty());
        Label result = new Label();
        result.setId("teachResult");
        result.getStyleClass().add("good");
        result.setWrapText(true);
        result.textProperty().bind(vm.resultProperty());
        Button prev = new Button("\u2190 Back");
        prev.setId("teachPrev");
        prev.setOnAction(e -> vm.previous());
        prev.disableProperty().bind(vm.stepProperty().lessThan(1));
        Button next = new Button("Next \u2192");
        next.setId("teachNext");
        next.setOnAction(e -> vm.next());
        next.disableProperty().bind(vm.stepProperty().add(1).greaterThanOrEqualTo(vm.stepCountProperty()));
        Button stop = new Button("End demo");
        stop.setId("teachStop");
        stop.setOnAction(e -> vm.stop());
        HBox nav = new HBox(8, prev, next, stop);
        nav.visibleProperty().bind(vm.activeProperty());
        nav.managedProperty().bind(vm.activeProperty());
        getChildren().addAll(head, intro, lessons, stepNo, title, text, result, nav);
    }

    public TeachingViewModel viewModel() { return vm; }
}

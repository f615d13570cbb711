package memplan.app.ui;

import javafx.collections.ListChangeListener;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Hyperlink;
import javafx.scene.control.Label;
import javafx.scene.control.Spinner;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.VBox;
import javafx.util.StringConverter;
import memplan.app.ui.session.SessionViewModel;
import memplan.ir.DType;
import memplan.samples.SampleModels;
import memplan.train.Optimizer;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/** Opening a model: file, recent files, the gallery of samples; and the batch size, dtype and optimizer. */
final class ModelPanel extends VBox {
    ModelPanel(SessionViewModel session, Runnable chooseFile) {
        super(10);
        setId("modelPanel");
        setPadding(new Insets(10));
        getStyleClass().add("side-panel");

        Label settings = new Label("Training settings");
        settings.getStyleClass().add("section-title");
        Spinner<Integer> batch = new Spinner<>(1, 4096, session.batchProperty().get());
        batch.setId("batchSpinner");
        batch.setEditable(true);
        batch.setPrefWidth(100);
        batch.valueProperty().addListener((o, a, n) -> session.batchProperty().set(n));
        session.batchProperty().addListener((o, a, n) -> batch.getValueFactory().setValue(n.intValue()));
        ChoiceBox<DType> dtype = new ChoiceBox<>();
        dtype.getItems().addAll(DType.FP32, DType.FP16, DType.BF16);
        dtype.valueProperty().bindBidirectional(session.dtypeProperty());
        dtype.setConverter(new StringConverter<>() {
            @Override public String toString(DType d) { return d == null ? "" : d.jsonName(); }
            @Override public DType fromString(String s) { return DType.parse(s); }
        });
        ChoiceBox<Optimizer> opt = new ChoiceBox<>();
        opt.getItems().addAll(Optimizer.values());
        opt.valueProperty().bindBidirectional(session.optimizerProperty());
        opt.setConverter(new StringConverter<>() {
            @Override public String toString(Optimizer o) { return o == null ? "" : o == Optimizer.SGD
                    ? "SGD (momentum)" : "Adam"; }
            @Override public Optimizer fromString(String s) { return Optimizer.parse(s); }
        });
        TextField dims = new TextField();
        dims.setId("dimsField");
        dims.setPromptText("e.g. T=128");
        dims.setPrefColumnCount(8);
        dims.setTooltip(new Tooltip("Values for the model's dimension symbols, such as a sequence length T "
                + "(comma-separated)"));
        dims.textProperty().bindBidirectional(session.dimsProperty());
        dims.setOnAction(e -> session.reprofile());
        // the open model's own values stand in the empty field, e.g. "T=1024" for gpt2-small
        session.analysisProperty().addListener((o, was, a) -> {
            Map<String, Integer> sym = a == null ? Map.of() : a.graph().symbols();
            StringBuilder b = new StringBuilder();
            new TreeMap<>(sym).forEach((k, v) -> {
                if (k.equals("N")) return; // the batch size, set above
                b.append(b.length() == 0 ? "" : ", ").append(k).append('=').append(v);
            });
            dims.setPromptText(b.length() == 0 ? "none in this model" : b.toString());
        });
        Button apply = new Button("Profile again");
        apply.setId("reprofile");
        apply.setTooltip(new Tooltip("Profile the open model with these settings"));
        apply.setOnAction(e -> {
            batch.increment(0); // commits typed text
            session.reprofile();
        });
        apply.disableProperty().bind(session.modelProperty().isNull().or(session.busyProperty()));
        GridPane grid = new GridPane();
        grid.setHgap(8);
        grid.setVgap(6);
        grid.addRow(0, new Label("Batch size"), batch);
        grid.addRow(1, new Label("Data type"), dtype);
        grid.addRow(2, new Label("Optimizer"), opt);
        grid.addRow(3, new Label("Dimensions"), dims);
        grid.add(apply, 1, 4);

        Label open = new Label("Open a model");
        open.getStyleClass().add("section-title");
        Button file = new Button("Open model file\u2026");
        file.setId("openFile");
        file.setOnAction(e -> chooseFile.run());
        Label drop = new Label("or drop a .json or .onnx model file on the window");
        drop.getStyleClass().add("hint");

        Label recentTitle = new Label("Recent files");
        recentTitle.getStyleClass().add("section-title");
        VBox recent = new VBox(2);
        Runnable fillRecent = () -> {
            recent.getChildren().clear();
            if (session.recent() == null || session.recent().files().isEmpty()) {
                Label none = new Label("none yet");
                none.getStyleClass().add("hint");
                recent.getChildren().add(none);
                return;
            }
            for (Path p : session.recent().files()) {
                Hyperlink h = new Hyperlink(p.getFileName().toString());
                h.setTooltip(new Tooltip(p.toString()));
                h.setOnAction(e -> session.openFile(p));
                recent.getChildren().add(h);
            }
        };
        fillRecent.run();
        if (session.recent() != null) session.recent().files()
                .addListener((ListChangeListener<Path>) c -> fillRecent.run());

        Label gallery = new Label("Sample models");
        gallery.getStyleClass().add("section-title");
        FlowPane samples = new FlowPane(6, 6);
        samples.setId("sampleGallery");
        for (String name : SampleModels.names()) {
            Button b = new Button(name);
            b.setId("sample-" + name);
            b.getStyleClass().add("sample-button");
            b.setPrefWidth(122);
            b.setOnAction(e -> session.openSample(name));
            Tooltip tip = new Tooltip("Open " + name);
            tip.setWrapText(true);
            tip.setMaxWidth(420);
            tip.setOnShowing(ev -> { // reading the description loads the model: only when asked
                if (tip.getText().startsWith("Open ")) {
                    try {
                        tip.setText(SampleModels.describe(name));
                    } catch (RuntimeException ex) {
                        tip.setText(name + ": " + ex.getMessage());
                    }
                }
            });
            b.setTooltip(tip);
            b.disableProperty().bind(session.busyProperty());
            samples.getChildren().add(b);
        }
        Label hint = new Label("Samples open at the batch size, data type and optimizer above.");
        hint.getStyleClass().add("hint");
        hint.setWrapText(true);
        getChildren().addAll(open, file, drop, gallery, samples, hint, settings, grid, recentTitle, recent);
    }

    static String title(String s) {
        return s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
    }
}

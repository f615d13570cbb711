package memplan.app.ui;

import javafx.collections.ListChangeListener;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.StringProperty;
import javafx.geometry.Pos;
import javafx.scene.control.CheckBox;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Hyperlink;
import javafx.scene.control.Label;
import javafx.scene.control.Spinner;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import javafx.util.StringConverter;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.session.TrainingSettings;
import memplan.ir.DType;
import memplan.samples.SampleModels;
import memplan.train.Amp;
import memplan.train.BaseWeights;
import memplan.train.Optimizer;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Opening a model: file, recent files, the gallery of samples; the batch size, dtype and optimizer; and the training
 * setup (frozen parameters, LoRA, accumulation, 8-bit Adam, NF4, autocast).
 */
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

        Label setupTitle = new Label("Training setup");
        setupTitle.getStyleClass().add("section-title");
        GridPane setup = trainingSetup(session);

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
        getChildren().addAll(open, file, drop, gallery, samples, hint, settings, grid, setupTitle, setup,
                recentTitle, recent);
    }

    /**
     * Frozen parameters, LoRA, accumulation, 8-bit Adam, NF4 base weights and autocast, as the CLI's flags. A choice
     * profiles again at once (in the background); a text field when Enter is pressed or it loses focus. What is
     * wrong is said under the fields as the user types.
     */
    private static GridPane trainingSetup(SessionViewModel session) {
        TrainingSettings t = session.training();
        Runnable again = () -> {
            if (session.modelProperty().get() != null && t.problemProperty().get().isEmpty()) session.reprofile();
        };
        TextField freeze = field("freezeField", t.freezeProperty(), 12, "e.g. model.embed_tokens,model.layers.0",
                "Parameters to freeze (no gradient, no optimizer state): names or globs, comma-separated", again);
        CheckBox lora = new CheckBox("LoRA adapters");
        lora.setId("loraCheck");
        lora.selectedProperty().bindBidirectional(t.loraProperty());
        lora.setTooltip(new Tooltip("peft-style LoRA on the target Linear layers; only the adapters train"));
        lora.selectedProperty().addListener((o, a, n) -> again.run());
        TextField rank = field("loraRank", t.rankProperty(), 3, "r", "LoRA rank r", again);
        TextField alpha = field("loraAlpha", t.alphaProperty(), 3, "alpha", "LoRA alpha (the scale is alpha / r)",
                again);
        TextField targets = field("loraTargets", t.targetsProperty(), 12, "q_proj,v_proj",
                "Target modules: Linear layer names or their last parts, comma-separated", again);
        for (TextField f : List.of(rank, alpha, targets)) f.disableProperty().bind(lora.selectedProperty().not());
        TextField accum = field("gradAccumField", t.gradAccumProperty(), 3, "1",
                "Gradient accumulation: micro-batches of the batch size per optimizer step", again);
        CheckBox eightBit = new CheckBox("8-bit Adam state");
        eightBit.setId("adam8bitCheck");
        eightBit.setTooltip(new Tooltip("bitsandbytes' Adam8bit: block-wise 8-bit exp_avg and exp_avg_sq"));
        eightBit.selectedProperty().bindBidirectional(t.eightBitProperty());
        eightBit.selectedProperty().addListener((o, a, n) -> again.run());
        ChoiceBox<BaseWeights> base = choice("baseWeightsChoice", BaseWeights.values(), t.baseWeightsProperty(),
                b -> b == BaseWeights.NF4 ? "NF4 (4-bit)" : "full", again);
        base.setTooltip(new Tooltip("Storage of frozen Linear weights: full, or QLoRA's 4-bit NormalFloat"));
        ChoiceBox<Amp> amp = choice("ampChoice", Amp.values(), t.ampProperty(),
                a -> a == Amp.NONE ? "off" : a.cliName, again);
        amp.setTooltip(new Tooltip("Mixed precision as torch.autocast: fp32 weights, matmuls in bf16 or fp16"));
        Label problem = new Label();
        problem.setId("setupProblem");
        problem.getStyleClass().add("error-banner");
        problem.setWrapText(true);
        problem.setMaxWidth(260);
        problem.textProperty().bind(t.problemProperty());
        problem.visibleProperty().bind(t.problemProperty().isNotEmpty());
        problem.managedProperty().bind(problem.visibleProperty());
        HBox loraRow = new HBox(6, new Label("r"), rank, new Label("alpha"), alpha);
        loraRow.setAlignment(Pos.CENTER_LEFT);
        GridPane g = new GridPane();
        g.setHgap(8);
        g.setVgap(6);
        g.addRow(0, new Label("Freeze"), freeze);
        g.add(lora, 0, 1, 2, 1);
        g.addRow(2, new Label("LoRA"), loraRow);
        g.addRow(3, new Label("Targets"), targets);
        g.addRow(4, new Label("Accumulate"), accum);
        g.add(eightBit, 0, 5, 2, 1);
        g.addRow(6, new Label("Base weights"), base);
        g.addRow(7, new Label("Autocast"), amp);
        g.add(problem, 0, 8, 2, 1);
        return g;
    }

    private static TextField field(String id, StringProperty value, int columns, String prompt, String tip,
                                   Runnable again) {
        TextField f = new TextField();
        f.setId(id);
        f.setPrefColumnCount(columns);
        f.setPromptText(prompt);
        f.setTooltip(new Tooltip(tip));
        f.textProperty().bindBidirectional(value);
        f.setOnAction(e -> again.run());
        // leaving a field with a changed value profiles again, as Enter does
        String[] before = {value.get()};
        f.focusedProperty().addListener((o, was, now) -> {
            if (now) before[0] = f.getText();
            else if (!f.getText().equals(before[0])) again.run();
        });
        return f;
    }

    private static <T> ChoiceBox<T> choice(String id, T[] items, ObjectProperty<T> value, Function<T, String> label,
                                           Runnable again) {
        ChoiceBox<T> c = new ChoiceBox<>();
        c.setId(id);
        c.getItems().addAll(items);
        c.valueProperty().bindBidirectional(value);
        c.setConverter(new StringConverter<>() {
            @Override public String toString(T v) { return v == null ? "" : label.apply(v); }
            @Override public T fromString(String s) { return null; }
        });
        c.valueProperty().addListener((o, a, n) -> again.run());
        return c;
    }

    static String title(String s) {
        return s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
    }
}

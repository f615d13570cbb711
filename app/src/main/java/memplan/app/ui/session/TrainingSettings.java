package memplan.app.ui.session;

import javafx.beans.Observable;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import memplan.ir.DType;
import memplan.train.Amp;
import memplan.train.BaseWeights;
import memplan.train.FrozenParams;
import memplan.train.LoraConfig;
import memplan.train.Optimizer;
import memplan.train.OptimizerStates;
import memplan.train.TrainingSetup;

import java.util.ArrayList;
import java.util.List;

/**
 * The training setup the app profiles, as the CLI's flags describe it: frozen parameter patterns, LoRA adapters
 * (rank, alpha, targets), gradient accumulation, 8-bit optimizer state, NF4 base weights and autocast. The text
 * fields hold what the user typed; {@link #problemProperty()} says what is wrong with it as they type (empty when
 * nothing), and {@link #choice(Optimizer, DType)} turns it into the engine's setup.
 */
public final class TrainingSettings {
    /** What the settings ask for: LoRA adapters to add (null: none) and the setup to derive the iteration with. */
    public record Choice(LoraConfig lora, TrainingSetup setup) {
        /** One line for the status bar, empty for plain training. */
        public String describe() {
            List<String> parts = new ArrayList<>();
            if (lora != null) parts.add("LoRA r=" + lora.rank() + " on " + String.join(", ", lora.targets()));
            else if (!setup.frozen().isEmpty()) parts.add("frozen " + String.join(", ", setup.frozen().frozen()));
            if (!setup.describe().isEmpty()) parts.add(setup.describe());
            return String.join("; ", parts);
        }
    }

    /** The values of all fields, for a lesson to put back. */
    public record Values(String freeze, boolean lora, String rank, String alpha, String targets, String gradAccum,
                         boolean eightBit, BaseWeights baseWeights, Amp amp) {
        public static final Values DEFAULT = new Values("", false, "8", "16", "q_proj,v_proj", "1", false,
                BaseWeights.FULL, Amp.NONE);
    }

    private final StringProperty freeze = new SimpleStringProperty("");
    private final BooleanProperty lora = new SimpleBooleanProperty(false);
    private final StringProperty rank = new SimpleStringProperty("8");
    private final StringProperty alpha = new SimpleStringProperty("16");
    private final StringProperty targets = new SimpleStringProperty("q_proj,v_proj");
    private final StringProperty gradAccum = new SimpleStringProperty("1");
    private final BooleanProperty eightBit = new SimpleBooleanProperty(false);
    private final ObjectProperty<BaseWeights> baseWeights = new SimpleObjectProperty<>(BaseWeights.FULL);
    private final ObjectProperty<Amp> amp = new SimpleObjectProperty<>(Amp.NONE);
    private final ReadOnlyStringWrapper problem = new ReadOnlyStringWrapper("");
    private final ObjectProperty<Optimizer> optimizer;
    private final ObjectProperty<DType> dtype;

    /** Checks against the session's optimizer (8-bit state is Adam's) and data type (autocast keeps fp32). */
    TrainingSettings(ObjectProperty<Optimizer> optimizer, ObjectProperty<DType> dtype) {
        this.optimizer = optimizer;
        this.dtype = dtype;
        for (Observable o : List.of(freeze, lora, rank, alpha, targets, gradAccum, eightBit, baseWeights, amp,
                optimizer, dtype)) o.addListener(x -> check());
    }

    public StringProperty freezeProperty() { return freeze; }
    public BooleanProperty loraProperty() { return lora; }
    public StringProperty rankProperty() { return rank; }
    public StringProperty alphaProperty() { return alpha; }
    public StringProperty targetsProperty() { return targets; }
    public StringProperty gradAccumProperty() { return gradAccum; }
    public BooleanProperty eightBitProperty() { return eightBit; }
    public ObjectProperty<BaseWeights> baseWeightsProperty() { return baseWeights; }
    public ObjectProperty<Amp> ampProperty() { return amp; }

    /** What is wrong with the values as typed, written for the user; empty when they make a setup. */
    public ReadOnlyStringProperty problemProperty() { return problem.getReadOnlyProperty(); }

    /** Sets the model-dependent problem found when profiling (a target or pattern that names nothing). */
    void setProblem(String p) {
        problem.set(p == null ? "" : p);
    }

    private void check() {
        try {
            choice(optimizer.get(), dtype.get());
            problem.set("");
        } catch (IllegalArgumentException e) {
            problem.set(e.getMessage());
        }
    }

    public Values values() {
        return new Values(freeze.get(), lora.get(), rank.get(), alpha.get(), targets.get(), gradAccum.get(),
                eightBit.get(), baseWeights.get(), amp.get());
    }

    public void set(Values v) {
        freeze.set(v.freeze());
        lora.set(v.lora());
        rank.set(v.rank());
        alpha.set(v.alpha());
        targets.set(v.targets());
        gradAccum.set(v.gradAccum());
        eightBit.set(v.eightBit());
        baseWeights.set(v.baseWeights());
        amp.set(v.amp());
    }

    /** The setup these values describe; IllegalArgumentException names the field and what is wrong. */
    public Choice choice(Optimizer opt, DType floatType) {
        List<String> patterns = new ArrayList<>();
        for (String p : freeze.get().split(",", -1)) {
            if (!p.isBlank()) patterns.add(p.trim());
            else if (!freeze.get().isBlank()) throw new IllegalArgumentException("Freeze: an empty pattern between "
                    + "commas");
        }
        LoraConfig l = null;
        if (lora.get()) {
            int r = whole("LoRA rank", rank.get());
            double a;
            try {
                a = Double.parseDouble(alpha.get().trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("LoRA alpha: '" + alpha.get() + "' is not a number");
            }
            List<String> t = new ArrayList<>();
            for (String s : targets.get().split(",")) if (!s.isBlank()) t.add(s.trim());
            try {
                l = new LoraConfig(r, a, t, 0);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + " (LoRA targets: module names such as q_proj)");
            }
        }
        int k = whole("Gradient accumulation", gradAccum.get());
        FrozenParams frozen = FrozenParams.of(patterns);
        if (l != null) frozen = frozen.and(LoraConfig.FREEZES);
        if (eightBit.get() && opt != Optimizer.ADAM)
            throw new IllegalArgumentException("8-bit state is bitsandbytes' Adam8bit: choose Adam as the optimizer");
        if (baseWeights.get() == BaseWeights.NF4 && frozen.isEmpty())
            throw new IllegalArgumentException("NF4 base weights store frozen Linear weights: turn on LoRA or "
                    + "freeze some parameters");
        if (amp.get() != Amp.NONE && floatType != DType.FP32)
            throw new IllegalArgumentException("Autocast " + amp.get().cliName + " keeps fp32 weights and gradients: "
                    + "choose data type fp32");
        return new Choice(l, new TrainingSetup(frozen, k, eightBit.get() ? OptimizerStates.BLOCKWISE_8BIT
                : OptimizerStates.FULL, baseWeights.get(), amp.get()));
    }

    private static int whole(String what, String text) {
        int v;
        try {
            v = Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": '" + text + "' is not a whole number");
        }
        if (v < 1) throw new IllegalArgumentException(what + " must be at least 1, got " + v);
        return v;
    }
}

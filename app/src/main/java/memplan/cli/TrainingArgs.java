package memplan.cli;

import memplan.model.ModelDef;
import memplan.train.Amp;
import memplan.train.BaseWeights;
import memplan.train.FrozenParams;
import memplan.train.LoraConfig;
import memplan.train.OptimizerStates;
import memplan.train.TrainingSetup;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** Options of the training setup: frozen parameters, LoRA, gradient accumulation, 4-bit weights, autocast. */
public final class TrainingArgs {
    @Option(names = "--freeze", paramLabel = "PATTERN[,PATTERN...]", split = ",",
            description = "Parameters to freeze (no gradient, no optimizer state): names or globs, e.g. "
                    + "'h0,h1.*' or '*.ln_1.*'; a name without * also freezes everything under it.")
    List<String> freeze = new ArrayList<>();

    @Option(names = "--lora", paramLabel = "r=R,alpha=A,targets=M1,M2[,dropout=P]",
            description = "Adds peft-style LoRA adapters to the targeted Linear layers and trains only them "
                    + "(defaults: r=8, alpha=8, targets=q_proj,v_proj, dropout=0).")
    String lora;

    @Option(names = "--grad-accum", paramLabel = "K",
            description = "Gradient accumulation over K micro-batches of --batch each, then one optimizer step "
                    + "(default: ${DEFAULT-VALUE}).", defaultValue = "1")
    int gradAccum;

    @Option(names = "--base-weights", paramLabel = "full|nf4",
            description = "Storage of frozen Linear weights: full, or nf4 (QLoRA's 4-bit NormalFloat with one fp32 "
                    + "constant per 64 weights; default: ${DEFAULT-VALUE}).", defaultValue = "full")
    String baseWeights;

    @Option(names = "--amp", paramLabel = "none|bf16|fp16",
            description = "Mixed precision as torch.autocast: fp32 weights and gradients, matmuls and convolutions in "
                    + "bf16 or fp16 (default: ${DEFAULT-VALUE}).", defaultValue = "none")
    String amp;

    LoraConfig loraConfig() {
        if (lora == null) return null;
        try {
            return LoraConfig.parse(lora);
        } catch (IllegalArgumentException e) {
            throw new CliException("--lora " + lora + ": " + e.getMessage());
        }
    }

    /** The model with LoRA adapters when --lora is given. */
    ModelDef adapt(ModelDef m) {
        LoraConfig c = loraConfig();
        if (c == null) return m;
        try {
            return c.apply(m);
        } catch (IllegalArgumentException e) {
            throw new CliException("--lora: " + e.getMessage());
        }
    }

    TrainingSetup setup(OptimizerStates states) {
        if (gradAccum < 1) throw new CliException("--grad-accum must be a positive integer, got " + gradAccum);
        for (String f : freeze)
            if (f.isBlank()) throw new CliException("--freeze: an empty pattern (patterns are separated by commas)");
        BaseWeights bw;
        Amp a;
        try {
            bw = BaseWeights.parse(baseWeights);
            a = Amp.parse(amp);
        } catch (IllegalArgumentException e) {
            throw new CliException((e.getMessage().contains("autocast") ? "--amp: " : "--base-weights: ")
                    + e.getMessage());
        }
        FrozenParams frozen = FrozenParams.of(freeze);
        if (lora != null) frozen = frozen.and(LoraConfig.FREEZES);
        if (bw == BaseWeights.NF4 && frozen.isEmpty())
            throw new CliException("--base-weights nf4 stores frozen Linear weights: freeze some with --lora or "
                    + "--freeze");
        return new TrainingSetup(frozen, gradAccum, states, bw, a);
    }
}

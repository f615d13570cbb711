package memplan.train;

/**
 * How an iteration trains the model besides its optimizer: which parameters are frozen, how many micro-batches
 * accumulate their gradients before one optimizer step, how the optimizer stores its state, how frozen base
 * weights are stored, and mixed precision.
 *
 * @param frozen          parameters with no gradient, no optimizer state and no weight-gradient compute
 * @param microBatches    gradient accumulation: K forward and backward passes (each of the graph's batch), their
 *                        weight gradients summed, then one optimizer step; 1 = none
 * @param optimizerStates full-precision state, or bitsandbytes' block-wise 8-bit state
 * @param baseWeights     frozen Linear weights in full precision, or NF4 (QLoRA's 4-bit storage)
 * @param amp             mixed precision as torch.autocast does it, or none
 */
public record TrainingSetup(FrozenParams frozen, int microBatches, OptimizerStates optimizerStates,
                            BaseWeights baseWeights, Amp amp) {
    public static final TrainingSetup DEFAULT = new TrainingSetup(FrozenParams.NONE, 1, OptimizerStates.FULL,
            BaseWeights.FULL, Amp.NONE);

    public TrainingSetup {
        if (microBatches < 1)
            throw new IllegalArgumentException("gradient accumulation needs at least 1 micro-batch, got "
                    + microBatches);
    }

    public TrainingSetup withFrozen(FrozenParams f) {
        return new TrainingSetup(f, microBatches, optimizerStates, baseWeights, amp);
    }

    public TrainingSetup withMicroBatches(int k) {
        return new TrainingSetup(frozen, k, optimizerStates, baseWeights, amp);
    }

    public TrainingSetup withOptimizerStates(OptimizerStates o) {
        return new TrainingSetup(frozen, microBatches, o, baseWeights, amp);
    }

    public TrainingSetup withBaseWeights(BaseWeights b) {
        return new TrainingSetup(frozen, microBatches, optimizerStates, b, amp);
    }

    public TrainingSetup withAmp(Amp a) {
        return new TrainingSetup(frozen, microBatches, optimizerStates, baseWeights, a);
    }

    /** The parts that differ from plain training, for a report line; empty for the default. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        if (microBatches > 1) b.append(", ").append(microBatches).append(" micro-batches");
        if (optimizerStates == OptimizerStates.BLOCKWISE_8BIT) b.append(", 8-bit optimizer state");
        if (baseWeights == BaseWeights.NF4) b.append(", NF4 base weights");
        if (amp != Amp.NONE) b.append(", autocast ").append(amp.cliName);
        return b.length() == 0 ? "" : b.substring(2);
    }

    /** What of this setup MemPlan's fp32 kernels cannot execute, or null if they can run it. */
    public String notExecutable() {
        if (optimizerStates != OptimizerStates.FULL) return "8-bit optimizer states";
        if (baseWeights != BaseWeights.FULL) return "4-bit (NF4) base weights";
        if (amp != Amp.NONE) return "mixed precision (autocast " + amp.cliName + ")";
        return null;
    }
}

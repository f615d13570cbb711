package memplan.parallel;

/**
 * The ZeRO paper's accounting of model states per device (Rajbhandari et al., "ZeRO: Memory Optimizations Toward
 * Training Trillion Parameter Models", 2020, section 5): for {@code params} parameters, bytes per parameter of the
 * parameters, of the gradients and of the optimizer state (K; 12 for mixed-precision Adam: fp32 master weights,
 * momentum and variance), and what each stage keeps on one of {@code nd} data-parallel devices. Activations and
 * buffers are not in it; {@link RankMemory} adds them from a real schedule.
 */
public record ModelStates(long params, int paramBytes, int gradBytes, int optimizerBytes) {

    /** Mixed-precision Adam as in the paper: fp16 parameters and gradients, K = 12. */
    public static ModelStates mixedPrecisionAdam(long params) {
        return new ModelStates(params, 2, 2, 12);
    }

    /** Everything in one data type (fp32 Adam: 4 + 4 + 8 bytes per parameter). */
    public static ModelStates uniform(long params, int bytes, int statesPerParam) {
        return new ModelStates(params, bytes, bytes, bytes * statesPerParam);
    }

    /** Bytes of model states on one of {@code nd} devices with the given ZeRO stage (0 = plain data parallel). */
    public double perDevice(int stage, int nd) {
        if (stage < 0 || stage > 3) throw new IllegalArgumentException("ZeRO stage must be 0 to 3, got " + stage);
        if (nd < 1) throw new IllegalArgumentException("devices must be positive, got " + nd);
        double p = (double) params;
        double o = optimizerBytes * p / (stage >= 1 ? nd : 1);
        double g = gradBytes * p / (stage >= 2 ? nd : 1);
        double w = paramBytes * p / (stage >= 3 ? nd : 1);
        return w + g + o;
    }

    /** The ZeRO stage a shard mode corresponds to for model states (FSDP's strategies by what they shard). */
    public static int stageOf(ShardMode m) {
        if (m.shardsParameters) return 3;
        if (m.shardsGradients) return 2;
        return m.shardsOptimizerState ? 1 : 0;
    }
}

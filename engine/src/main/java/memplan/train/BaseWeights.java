package memplan.train;

/**
 * How frozen Linear weights are stored. {@code NF4} is QLoRA's 4-bit NormalFloat (Dettmers et al. 2023,
 * bitsandbytes {@code Linear4bit}): two weights per byte plus one fp32 absmax constant per block of 64 weights
 * (no double quantisation); the layer dequantises its weight into the compute type for each matmul, forward and
 * backward. As transformers' {@code load_in_4bit} does, the output layer (the Linear whose output reaches the loss)
 * and tied weights stay unquantised.
 */
public enum BaseWeights {
    FULL("full"), NF4("nf4");

    public static final int NF4_BLOCK = 64;

    public final String cliName;

    BaseWeights(String cliName) {
        this.cliName = cliName;
    }

    /** Packed bytes of n NF4 weights. */
    public static long nf4Bytes(long n) {
        return (n + 1) / 2;
    }

    /** Elements of the fp32 absmax constants of n NF4 weights. */
    public static long nf4Constants(long n) {
        return OptimizerStates.blocks(n, NF4_BLOCK);
    }

    public static BaseWeights parse(String s) {
        for (BaseWeights b : values()) if (b.cliName.equalsIgnoreCase(s)) return b;
        throw new IllegalArgumentException("unknown base weight storage '" + s + "' (use full or nf4)");
    }
}

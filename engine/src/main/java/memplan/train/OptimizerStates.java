package memplan.train;

/**
 * How the optimizer stores its state tensors. {@code BLOCKWISE_8BIT} is bitsandbytes' 8-bit optimizers
 * (Dettmers et al. 2022, {@code bnb.optim.Adam8bit}): each state is one byte per element plus one fp32 absmax
 * constant per block of 2048 elements; parameters with fewer than 4096 elements ({@code min_8bit_size}) keep
 * fp32 state, and the update runs as one fused kernel without temporaries.
 */
public enum OptimizerStates {
    FULL, BLOCKWISE_8BIT;

    public static final int BLOCK = 2048;
    public static final int MIN_8BIT_SIZE = 4096;

    /** Whether a parameter of this many elements gets 8-bit state. */
    public boolean quantizes(long numel) {
        return this == BLOCKWISE_8BIT && numel >= MIN_8BIT_SIZE;
    }

    /** Bytes of one state tensor of a parameter: 1 per element and 4 per block when 8-bit, else 4 per element. */
    public long stateBytes(long numel) {
        return quantizes(numel) ? numel + 4 * blocks(numel, BLOCK) : 4 * numel;
    }

    static long blocks(long numel, int block) {
        return (numel + block - 1) / block;
    }
}

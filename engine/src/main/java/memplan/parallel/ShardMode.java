package memplan.parallel;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How the data-parallel ranks split the model states, and which engine's buffers come with it: PyTorch's DDP
 * (none) and ZeroRedundancyOptimizer over DDP (zero1), DeepSpeed's ZeRO stages 2 and 3, and PyTorch's FSDP
 * sharding strategies.
 */
public enum ShardMode {
    NONE("none", false, false, false),
    ZERO1("zero1", true, false, false),
    ZERO2("zero2", true, true, false),
    ZERO3("zero3", true, true, true),
    FSDP_FULL("fsdp-full", true, true, true),
    FSDP_GRAD_OP("fsdp-grad-op", true, true, false),
    FSDP_HYBRID("fsdp-hybrid", true, true, true);

    public final String label;
    public final boolean shardsOptimizerState;
    public final boolean shardsGradients;
    /** Parameters are kept as shards and all-gathered per unit (FSDP_GRAD_OP gathers them once per forward). */
    public final boolean shardsParameters;

    ShardMode(String label, boolean optimizer, boolean gradients, boolean parameters) {
        this.label = label;
        this.shardsOptimizerState = optimizer;
        this.shardsGradients = gradients;
        this.shardsParameters = parameters;
    }

    /** DDP's gradient buckets: PyTorch's DDP, alone or under ZeroRedundancyOptimizer. */
    public boolean usesDdpBuckets() {
        return this == NONE || this == ZERO1;
    }

    public boolean isFsdp() {
        return this == FSDP_FULL || this == FSDP_GRAD_OP || this == FSDP_HYBRID;
    }

    public static ShardMode parse(String s) {
        for (ShardMode m : values()) if (m.label.equals(s.toLowerCase(Locale.ROOT))) return m;
        throw new IllegalArgumentException("unknown shard mode '" + s + "' (known: " + names() + ")");
    }

    public static String names() {
        return Arrays.stream(values()).map(m -> m.label).collect(Collectors.joining(", "));
    }
}

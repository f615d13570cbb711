package memplan.parallel;

/**
 * Activation memory per transformer layer as Korthikanti et al. count it ("Reducing Activation Recomputation in
 * Large Transformer Models", 2022, section 4 and table 2): sequence length {@code s}, micro-batch {@code b}, hidden
 * size {@code h}, attention heads {@code a}, 16-bit activations with 1-byte dropout masks. Without parallelism a
 * layer keeps sbh(34 + 5as/h) bytes: 11sbh + 5as²b in attention, 19sbh in the MLP, 4sbh in the two LayerNorms.
 * With tensor parallelism over {@code t} devices the 24sbh inside the attention and MLP blocks and the attention
 * scores split, the 10sbh at the LayerNorms and dropouts do not; sequence parallelism splits those too.
 */
public record TransformerActivations(long s, long b, long h, long a) {

    public TransformerActivations {
        if (s < 1 || b < 1 || h < 1 || a < 1) throw new IllegalArgumentException("s, b, h and a must be positive");
    }

    /** How the layer's activations are split and which are recomputed. */
    public enum Split { NONE, TENSOR, TENSOR_SEQUENCE }

    /** Bytes per layer per device; {@code selective}: the attention core (the 5as²b term) is recomputed. */
    public long perLayer(Split split, long t, boolean selective) {
        if (t < 1) throw new IllegalArgumentException("tensor-parallel degree must be positive, got " + t);
        long sbh = s * b * h;
        long scores = selective ? 0 : 5 * a * s * s * b;
        return switch (split) {
            case NONE -> 34 * sbh + scores;
            case TENSOR -> exact(10 * sbh * t + 24 * sbh + scores, t);
            case TENSOR_SEQUENCE -> exact(34 * sbh + scores, t);
        };
    }

    /** Without parallelism or recomputation: sbh(34 + 5as/h). */
    public long perLayer() {
        return perLayer(Split.NONE, 1, false);
    }

    private static long exact(long bytesTimesT, long t) {
        // the paper's forms divide whole tensors by t; round up where t does not divide them
        return (bytesTimesT + t - 1) / t;
    }
}

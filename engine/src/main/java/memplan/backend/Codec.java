package memplan.backend;

/**
 * Storage encodings for kept activations. MASK_1BIT and SPARSE are lossless for the consumers they are planned
 * for (Gist); FP16 and BF16 round and are lossy.
 */
public enum Codec {
    /** One bit per element: y > 0 of a ReLU output (enough for ReLU backward and index-based MaxPool backward). */
    MASK_1BIT(false),
    /** Bitmap plus packed non-zero values, with capacity for a planned density. */
    SPARSE(false),
    FP16(true),
    BF16(true);

    public final boolean lossy;

    Codec(boolean lossy) {
        this.lossy = lossy;
    }

    /** Bytes of the encoded form of {@code numel} fp32 elements (density is used by SPARSE only). */
    public long encodedBytes(long numel, double density) {
        return switch (this) {
            case MASK_1BIT -> roundUp4((numel + 7) / 8);
            case SPARSE -> roundUp4((numel + 7) / 8) + 4L * (long) Math.ceil(numel * density);
            case FP16, BF16 -> roundUp4(2 * numel);
        };
    }

    private static long roundUp4(long b) {
        return (b + 3) / 4 * 4;
    }

    public String jsonName() {
        return name().toLowerCase().replace("_", "-");
    }

    public static Codec parse(String s) {
        for (Codec c : values()) if (c.jsonName().equalsIgnoreCase(s) || c.name().equalsIgnoreCase(s)) return c;
        return null;
    }
}

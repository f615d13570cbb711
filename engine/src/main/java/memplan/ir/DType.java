package memplan.ir;

/** Storage type of a tensor. {@link #bytes} is the size of one element. */
public enum DType {
    FP32(4, true), FP16(2, true), BF16(2, true), INT64(8, false), INT32(4, false), BOOL(1, false),
    /** Quantised storage (8-bit optimizer state, packed 4-bit weights); no kernel computes in it. */
    UINT8(1, false);

    public final int bytes;
    public final boolean floating;

    DType(int bytes, boolean floating) {
        this.bytes = bytes;
        this.floating = floating;
    }

    public String jsonName() {
        return name().toLowerCase();
    }

    /** Parses "fp32", "FP16", "int64", ...; returns null for an unknown name (and for uint8, MemPlan's own). */
    public static DType parse(String s) {
        for (DType d : values()) if (d != UINT8 && d.name().equalsIgnoreCase(s)) return d;
        return null;
    }
}

package memplan.app.ui.table;

import memplan.backend.Codec;

/** The per-tensor technique choices the table offers (compression with each codec is its own choice). */
public enum Technique {
    KEEP("keep", null), SWAP("swap", null), RECOMPUTE("recompute", null), SHARE("share", null),
    COMPRESS_MASK("compress 1-bit mask", Codec.MASK_1BIT), COMPRESS_SPARSE("compress sparse", Codec.SPARSE),
    COMPRESS_FP16("compress fp16", Codec.FP16), COMPRESS_BF16("compress bf16", Codec.BF16);

    public final String label;
    public final Codec codec;

    Technique(String label, Codec codec) {
        this.label = label;
        this.codec = codec;
    }

    public static Technique compress(Codec c) {
        for (Technique t : values()) if (t.codec == c) return t;
        return KEEP;
    }

    @Override
    public String toString() {
        return label;
    }
}

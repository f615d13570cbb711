package memplan.train;

import memplan.ir.DType;

/** Mixed precision as {@code torch.autocast} runs it: none, or autocast to bf16 or fp16. */
public enum Amp {
    NONE("none", null), BF16("bf16", DType.BF16), FP16("fp16", DType.FP16);

    public final String cliName;
    /** The low-precision type autocast computes in; null for none. */
    public final DType lowType;

    Amp(String cliName, DType lowType) {
        this.cliName = cliName;
        this.lowType = lowType;
    }

    public static Amp parse(String s) {
        for (Amp a : values()) if (a.cliName.equalsIgnoreCase(s)) return a;
        throw new IllegalArgumentException("unknown autocast type '" + s + "' (use bf16, fp16 or none)");
    }
}

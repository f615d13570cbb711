package memplan.framework;

/**
 * What {@code optimizer.zero_grad()} does after the step: {@code TO_NONE} ({@code set_to_none=True}) frees the
 * weight gradients, which the next backward makes anew; {@code ZEROS} ({@code set_to_none=False}, PyTorch 1.13's
 * default) writes zeros into them, so they stay allocated between iterations.
 */
public enum ZeroGrad {
    TO_NONE("none"), ZEROS("zeros");

    public final String cliName;

    ZeroGrad(String cliName) {
        this.cliName = cliName;
    }

    public static ZeroGrad parse(String s) {
        for (ZeroGrad z : values()) if (z.cliName.equalsIgnoreCase(s)) return z;
        throw new IllegalArgumentException("unknown zero_grad mode '" + s + "' (use none or zeros)");
    }
}

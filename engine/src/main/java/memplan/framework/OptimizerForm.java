package memplan.framework;

/**
 * How the optimizer walks the parameters, which decides its temporaries: PyTorch's {@code _single_tensor_*}
 * (one parameter at a time, the default on the CPU in 1.13) or {@code _multi_tensor_*} ({@code foreach=True}: each
 * arithmetic step over all parameters at once, so its temporaries exist for all of them together).
 */
public enum OptimizerForm {
    SINGLE_TENSOR("single-tensor"), FOREACH("foreach");

    public final String cliName;

    OptimizerForm(String cliName) {
        this.cliName = cliName;
    }

    public static OptimizerForm parse(String s) {
        for (OptimizerForm f : values()) if (f.cliName.equalsIgnoreCase(s)) return f;
        throw new IllegalArgumentException("unknown optimizer form '" + s + "' (use single-tensor or foreach)");
    }
}

package memplan.exec;

import memplan.ir.Remedy;

/** A run cannot start with this configuration (a model dtype the kernels do not compute in, say). */
public class RunConfigException extends IllegalArgumentException {
    private final Remedy remedy;

    public RunConfigException(String message, Remedy remedy) {
        super(message);
        this.remedy = remedy;
    }

    /** What the user can change; the CLI and the app word it in their own terms. */
    public Remedy remedy() {
        return remedy;
    }
}

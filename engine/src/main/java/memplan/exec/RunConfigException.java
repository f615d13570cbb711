package memplan.exec;

import memplan.ir.Remediable;
import memplan.ir.Remedy;

/** A run cannot start with this configuration (a model dtype the kernels do not compute in, say). */
public class RunConfigException extends IllegalArgumentException implements Remediable {
    private final Remedy remedy;

    public RunConfigException(String message, Remedy remedy) {
        super(message);
        this.remedy = remedy;
    }

    @Override
    public Remedy remedy() {
        return remedy;
    }
}

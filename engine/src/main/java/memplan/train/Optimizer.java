package memplan.train;

/** The optimizer of the training step and how many state tensors it keeps per parameter. */
public enum Optimizer {
    /** SGD with momentum: one velocity buffer per parameter. */
    SGD(1, 4, new String[]{"momentum"}),
    /** Adam: exp_avg and exp_avg_sq per parameter. */
    ADAM(2, 12, new String[]{"exp_avg", "exp_avg_sq"});

    public final int statesPerParam;
    public final int flopsPerElement;
    private final String[] stateNames;

    Optimizer(int statesPerParam, int flopsPerElement, String[] stateNames) {
        this.statesPerParam = statesPerParam;
        this.flopsPerElement = flopsPerElement;
        this.stateNames = stateNames;
    }

    public String stateName(int i) {
        return stateNames[i];
    }

    public static Optimizer parse(String s) {
        for (Optimizer o : values()) if (o.name().equalsIgnoreCase(s)) return o;
        throw new IllegalArgumentException("unknown optimizer '" + s + "' (use sgd or adam)");
    }
}

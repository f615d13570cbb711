package memplan.train;

/** The optimizer of the training step and how many state tensors it keeps per parameter. */
public enum Optimizer {
    /** SGD with momentum: one velocity buffer per parameter. */
    SGD(1, 4, 0, new String[]{"momentum"}),
    /**
     * Adam: exp_avg and exp_avg_sq per parameter; its update makes two temporaries the size of the parameter
     * (PyTorch: {@code exp_avg_sq.sqrt()} and that divided by the bias correction, the denominator).
     */
    ADAM(2, 12, 2, new String[]{"exp_avg", "exp_avg_sq"});

    public final int statesPerParam;
    public final int flopsPerElement;
    /** Parameter-sized temporaries one update allocates in an eager framework (PyTorch 1.13, no weight decay). */
    public final int temporariesPerParam;
    private final String[] stateNames;

    Optimizer(int statesPerParam, int flopsPerElement, int temporariesPerParam, String[] stateNames) {
        this.statesPerParam = statesPerParam;
        this.flopsPerElement = flopsPerElement;
        this.temporariesPerParam = temporariesPerParam;
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

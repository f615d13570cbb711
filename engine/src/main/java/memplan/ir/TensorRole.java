package memplan.ir;

/** What a tensor is for; memory timelines are split by role (as PyTorch's memory profiler does). */
public enum TensorRole {
    INPUT, WEIGHT, ACTIVATION, GRADIENT, OPTIMIZER_STATE, WORKSPACE;

    public String label() {
        return switch (this) {
            case INPUT -> "input";
            case WEIGHT -> "weights";
            case ACTIVATION -> "activations";
            case GRADIENT -> "gradients";
            case OPTIMIZER_STATE -> "optimizer state";
            case WORKSPACE -> "workspace";
        };
    }
}

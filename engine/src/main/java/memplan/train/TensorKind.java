package memplan.train;

import memplan.ir.TensorRole;

/** What a tensor of the training iteration is; each kind has one memory role. */
public enum TensorKind {
    DATA(TensorRole.INPUT), PARAM(TensorRole.WEIGHT), BUFFER(TensorRole.WEIGHT), ACTIVATION(TensorRole.ACTIVATION),
    AUX(TensorRole.ACTIVATION), ACTIVATION_GRAD(TensorRole.GRADIENT), PARAM_GRAD(TensorRole.GRADIENT),
    OPTIMIZER_STATE(TensorRole.OPTIMIZER_STATE), WORKSPACE(TensorRole.WORKSPACE);

    public final TensorRole role;

    TensorKind(TensorRole role) {
        this.role = role;
    }

    /** Persistent tensors live across iterations; the baseline never frees them. */
    public boolean persistent() {
        return this == PARAM || this == BUFFER || this == OPTIMIZER_STATE;
    }
}

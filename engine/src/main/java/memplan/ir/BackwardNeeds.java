package memplan.ir;

import java.util.Set;

/**
 * What an op's backward pass reads besides the gradient of its outputs (PyTorch's "saved tensors"):
 * indices of inputs and outputs, whether it reads its parameters, and whether it reads all its aux tensors.
 */
public record BackwardNeeds(Set<Integer> inputs, Set<Integer> outputs, boolean params, boolean aux) {
    public static final BackwardNeeds NOTHING = new BackwardNeeds(Set.of(), Set.of(), false, false);

    public static BackwardNeeds inputs(Integer... i) {
        return new BackwardNeeds(Set.of(i), Set.of(), false, false);
    }

    public static BackwardNeeds outputs(Integer... i) {
        return new BackwardNeeds(Set.of(), Set.of(i), false, false);
    }

    public BackwardNeeds withParams() {
        return new BackwardNeeds(inputs, outputs, true, aux);
    }

    public BackwardNeeds withAux() {
        return new BackwardNeeds(inputs, outputs, params, true);
    }
}

package memplan.train;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ir.TensorRole;

/**
 * A tensor of one training iteration, with a dense id. {@code value} is the forward-graph value it stores
 * (for gradients: the value it is the gradient of; for optimizer state: the parameter), -1 for workspaces.
 */
public record TensorInfo(int id, String name, Shape shape, DType dtype, TensorKind kind, int value, long bytes) {
    public TensorRole role() {
        return kind.role;
    }
}

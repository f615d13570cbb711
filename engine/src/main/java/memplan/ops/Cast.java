package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.DType;

/**
 * Converts to another dtype (an int64 mask to the model's float type, say): a new tensor of the input's shape.
 * to = null means the model's floating type. No gradient flows through it into integer inputs.
 */
public record Cast(DType to) implements Elementwise {
    @Override public String type() { return "Cast"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public DType outputDType(int output) { return to; }
    @Override public boolean differentiable(int input) { return to == null || to.floating; }
}

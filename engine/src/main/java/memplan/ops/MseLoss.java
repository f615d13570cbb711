package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Mean squared error between a prediction and a float target of the same shape. Output: a scalar. */
public record MseLoss() implements LossOp {
    @Override public String type() { return "MseLoss"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.sameShape("MseLoss", in);
        return List.of(Shape.of());
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 3 * in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0, 1); }
    @Override public boolean differentiable(int input) { return input == 0; }
}

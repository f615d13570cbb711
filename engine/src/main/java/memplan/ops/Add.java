package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/**
 * a + b with NumPy broadcasting (same shapes, or x + mean[N, T, 1]). Backward sums the gradient over broadcast
 * dimensions and saves nothing, so it may write over input 0 when the output has input 0's shape.
 */
public record Add() implements BinaryOp {
    @Override public String type() { return "Add"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        return List.of(Broadcast.shape("Add", in));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public boolean mayRunInPlace() { return true; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** a - b with NumPy broadcasting. Backward negates and reduces the gradient: saves nothing. */
public record Sub() implements BinaryOp {
    @Override public String type() { return "Sub"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 2; }
    @Override public List<Shape> inferShapes(List<Shape> in) { return List.of(Broadcast.shape("Sub", in)); }
    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** a / b with NumPy broadcasting. Backward needs a and b (grad_a = g / b, grad_b = -g a / b^2), as PyTorch saves. */
public record Div() implements BinaryOp {
    @Override public String type() { return "Div"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 2; }
    @Override public List<Shape> inferShapes(List<Shape> in) { return List.of(Broadcast.shape("Div", in)); }
    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 4 * out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0, 1); }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;
import java.util.Set;

/**
 * a ^ b with NumPy broadcasting, both operands tensors. Backward needs a, b and the result
 * (grad_a = g b a^(b-1), grad_b = g ln(a) a^b). A constant exponent (x^2) is {@link ConstElementwise} instead.
 */
public record Pow() implements BinaryOp {
    @Override public String type() { return "Pow"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 2; }
    @Override public List<Shape> inferShapes(List<Shape> in) { return List.of(Broadcast.shape("Pow", in)); }
    @Override public long flops(List<Shape> in, List<Shape> out) { return 8 * out.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 16 * out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return new BackwardNeeds(Set.of(0, 1), Set.of(0), false, false); }
}

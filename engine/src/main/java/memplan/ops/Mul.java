package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** a * b with NumPy broadcasting (a gate [N, C, 1, 1] times features, or two equal shapes). Saves both inputs. */
public record Mul() implements BinaryOp {
    @Override public String type() { return "Mul"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        return List.of(Broadcast.shape("Mul", in));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 2 * out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0, 1); }
}

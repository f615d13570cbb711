package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/**
 * Running sum along one axis (ONNX CumSum, torch.cumsum): {@code exclusive} leaves the current element out (the
 * first sum is 0), {@code reverse} sums from the end. Backward is the running sum of the gradient in the other
 * direction (same exclusivity), so it saves nothing, as PyTorch's cumsum.
 */
public record CumSum(int axis, boolean exclusive, boolean reverse) implements ReduceOp {
    @Override public String type() { return "CumSum"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.axis("CumSum", axis, in.get(0).rank());
        return List.of(in.get(0));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * Elements [start, end) along one axis, as a contiguous copy (one time step of a sequence, BERT's first token).
 * Backward scatters the gradient into zeros; saves nothing.
 */
public record Slice(int axis, int start, int end) implements MovementOp {
    @Override public String type() { return "Slice"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        int ax = Checks.axis("Slice", axis, x.rank());
        if (start < 0 || end > x.dim(ax) || start >= end)
            throw new ShapeException("Slice: range [" + start + ", " + end + ") is empty or outside 0.." + x.dim(ax)
                    + " of axis " + axis + " of " + x);
        return List.of(x.withDim(ax, end - start));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

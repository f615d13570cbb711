package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/** Concatenation along one axis; all other dimensions must match. Saves nothing. */
public record Concat(int axis) implements MovementOp {
    @Override public String type() { return "Concat"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return -1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape first = in.get(0);
        int ax = Checks.axis("Concat", axis, first.rank());
        int total = 0;
        for (Shape s : in) {
            if (s.rank() != first.rank()) throw new ShapeException("Concat: inputs must have the same rank, got "
                    + first + " and " + s);
            for (int d = 0; d < s.rank(); d++)
                if (d != ax && s.dim(d) != first.dim(d))
                    throw new ShapeException("Concat: inputs differ outside axis " + axis + ": " + first + " and " + s);
            total += s.dim(ax);
        }
        return List.of(first.withDim(ax, total));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

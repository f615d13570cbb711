package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.Arrays;
import java.util.List;

/** Flattens dimensions from startDim on into one: a view, no memory of its own. */
public record Flatten(int startDim) implements MovementOp {
    @Override public String type() { return "Flatten"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.minRank("Flatten", in, 0, 1);
        Shape x = in.get(0);
        int s = Checks.axis("Flatten", startDim, x.rank());
        long n = x.numel(s, x.rank());
        if (n > Integer.MAX_VALUE) throw new ShapeException("Flatten: flattened size " + n + " is too large");
        int[] d = Arrays.copyOf(x.dims(), s + 1);
        d[s] = (int) n;
        return List.of(new Shape(d));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public boolean isView() { return true; }
}

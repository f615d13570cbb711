package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Mean over the given axes (all axes when the list is empty), keeping them as size 1 or dropping them.
 * Backward spreads the gradient evenly; it needs only the input's shape, so nothing is saved.
 */
public record ReduceMean(List<Integer> axes, boolean keepDims) implements ReduceOp {
    public ReduceMean {
        axes = List.copyOf(axes);
    }

    @Override public String type() { return "ReduceMean"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        boolean[] reduce = new boolean[x.rank()];
        if (axes.isEmpty()) Arrays.fill(reduce, true);
        for (int a : axes) {
            int ax = Checks.axis("ReduceMean", a, x.rank());
            if (reduce[ax] && !axes.isEmpty()) throw new ShapeException("ReduceMean: axis " + a
                    + " is listed twice in " + axes);
            reduce[ax] = true;
        }
        List<Integer> d = new ArrayList<>();
        for (int i = 0; i < x.rank(); i++) {
            if (!reduce[i]) d.add(x.dim(i));
            else if (keepDims) d.add(1);
        }
        return List.of(new Shape(d.stream().mapToInt(Integer::intValue).toArray()));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

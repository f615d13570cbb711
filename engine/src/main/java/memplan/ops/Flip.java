package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;
import java.util.TreeSet;

/**
 * Reverses the order of the elements along each of {@code axes}, as a copy (PyTorch's flip, and ONNX's Slice with
 * step -1). Backward flips the gradient back; saves nothing.
 */
public record Flip(List<Integer> axes) implements MovementOp {
    public Flip {
        axes = List.copyOf(axes);
        if (axes.isEmpty()) throw new ShapeException("Flip: needs at least one axis");
    }

    @Override public String type() { return "Flip"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        TreeSet<Integer> seen = new TreeSet<>();
        for (int a : axes)
            if (!seen.add(Checks.axis("Flip", a, x.rank())))
                throw new ShapeException("Flip: axis " + a + " is given twice in " + axes);
        return List.of(x);
    }

    /** Whether axis {@code d} of a tensor of {@code rank} is flipped. */
    public boolean flips(int d, int rank) {
        for (int a : axes) if ((a < 0 ? a + rank : a) == d) return true;
        return false;
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

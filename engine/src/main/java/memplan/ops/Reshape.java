package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * Reshape to a target shape (a view). As in ONNX, 0 copies the input's dimension at that position (so the batch
 * passes through) and one -1 is inferred from the element count.
 */
public record Reshape(List<Integer> shape) implements MovementOp {
    public Reshape {
        shape = List.copyOf(shape);
    }

    @Override public String type() { return "Reshape"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        int[] d = new int[shape.size()];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            int v = shape.get(i);
            if (v == -1) {
                if (infer >= 0) throw new ShapeException("Reshape: at most one -1 is allowed in " + shape);
                infer = i;
                continue;
            }
            if (v == 0) {
                if (i >= x.rank()) throw new ShapeException("Reshape: 0 at position " + i + " but the input " + x
                        + " has rank " + x.rank());
                v = x.dim(i);
            }
            if (v < 0) throw new ShapeException("Reshape: invalid dimension " + v + " in " + shape);
            d[i] = v;
            known *= v;
        }
        if (infer >= 0) {
            if (known == 0 || x.numel() % known != 0 || x.numel() / known > Integer.MAX_VALUE)
                throw new ShapeException("Reshape: cannot reshape " + x + " (" + x.numel()
                        + " elements) into " + shape);
            d[infer] = (int) (x.numel() / known);
        }
        Shape out = new Shape(d);
        if (out.numel() != x.numel())
            throw new ShapeException("Reshape: cannot reshape " + x + " (" + x.numel() + " elements) into " + out);
        return List.of(out);
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public boolean isView() { return true; }
}

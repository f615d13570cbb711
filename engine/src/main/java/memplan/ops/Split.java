package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits one axis into consecutive parts of the given sizes; output k is part k (contiguous copies, as
 * ONNX runtimes produce). Backward concatenates the gradients: saves nothing.
 */
public record Split(int axis, List<Integer> sizes) implements MovementOp {
    public Split {
        sizes = List.copyOf(sizes);
    }

    @Override public String type() { return "Split"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }
    @Override public int outputCount() { return sizes.size(); }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        int ax = Checks.axis("Split", axis, x.rank());
        long total = 0;
        List<Shape> out = new ArrayList<>();
        for (int s : sizes) {
            Checks.positive("Split", "each size", s);
            total += s;
            out.add(x.withDim(ax, s));
        }
        if (total != x.dim(ax)) throw new ShapeException("Split: sizes " + sizes + " add up to " + total
                + ", not to axis " + axis + " of " + x);
        return out;
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * Pads each dimension: {@code pads} holds 2 x rank values, all the begins then all the ends (ONNX's order).
 * mode "constant", "reflect", "edge" or "wrap" (periodic, ONNX opset 19) changes values, not memory. Backward slices
 * the gradient: saves nothing.
 */
public record Pad(List<Integer> pads, String mode) implements MovementOp {
    public Pad {
        pads = List.copyOf(pads);
    }

    @Override public String type() { return "Pad"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        if (pads.size() != 2 * x.rank()) throw new ShapeException("Pad: needs " + 2 * x.rank()
                + " pad values for " + x + ", got " + pads);
        int[] d = x.dims();
        for (int i = 0; i < d.length; i++) {
            d[i] += pads.get(i) + pads.get(i + d.length);
            if (d[i] <= 0) throw new ShapeException("Pad: pads " + pads
                    + " leave nothing of dimension " + i + " of " + x);
        }
        return List.of(new Shape(d));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Nearest-neighbour upsampling of [N, C, H, W] by an integer factor. Backward sums each block; saves nothing. */
public record Upsample(int scale) implements MovementOp {
    @Override public String type() { return "Upsample"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("Upsample", in, 0, 4);
        Shape x = in.get(0);
        return List.of(Shape.of(x.dim(0), x.dim(1), x.dim(2) * scale, x.dim(3) * scale));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

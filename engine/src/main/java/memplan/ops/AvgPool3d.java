package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Average pooling over [N, C, D, H, W] (padding counts as zeros in the average, PyTorch's default). */
public record AvgPool3d(Triple kernel, Triple stride, Triple padding) implements PoolOp {
    @Override public String type() { return "AvgPool3d"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("AvgPool3d", in, 0, 5);
        Shape x = in.get(0);
        int d = Checks.window("AvgPool3d", "depth", x.dim(2), kernel.d(), stride.d(), padding.d(), 1);
        int h = Checks.window("AvgPool3d", "height", x.dim(3), kernel.h(), stride.h(), padding.h(), 1);
        int w = Checks.window("AvgPool3d", "width", x.dim(4), kernel.w(), stride.w(), padding.w(), 1);
        return List.of(Shape.of(x.dim(0), x.dim(1), d, h, w));
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        return out.get(0).numel() * kernel.d() * kernel.h() * kernel.w();
    }

    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return in.get(0).numel(); }
    /** PyTorch saves the input only for its shape; no activation memory is needed. */
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/** Max pooling over [N, C, D, H, W]. Saves its input and int64 argmax indices of the output's size (PyTorch). */
public record MaxPool3d(Triple kernel, Triple stride, Triple padding) implements PoolOp {
    @Override public String type() { return "MaxPool3d"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("MaxPool3d", in, 0, 5);
        Shape x = in.get(0);
        if (padding.d() * 2 > kernel.d() || padding.h() * 2 > kernel.h() || padding.w() * 2 > kernel.w())
            throw new ShapeException("MaxPool3d: padding " + padding + " must be at most half the kernel " + kernel);
        int d = Checks.window("MaxPool3d", "depth", x.dim(2), kernel.d(), stride.d(), padding.d(), 1);
        int h = Checks.window("MaxPool3d", "height", x.dim(3), kernel.h(), stride.h(), padding.h(), 1);
        int w = Checks.window("MaxPool3d", "width", x.dim(4), kernel.w(), stride.w(), padding.w(), 1);
        return List.of(Shape.of(x.dim(0), x.dim(1), d, h, w));
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        return out.get(0).numel() * kernel.d() * kernel.h() * kernel.w();
    }

    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0).withAux(); }

    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        return List.of(new AuxSpec("indices", out.get(0), DType.INT64));
    }
}

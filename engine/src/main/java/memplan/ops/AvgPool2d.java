package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Average pooling over [N, C, H, W] (padding counts as zeros in the average, PyTorch's default). */
public record AvgPool2d(Pair kernel, Pair stride, Pair padding) implements Op {
    public static AvgPool2d fromJson(OpArgs a) {
        Pair k = a.requirePair("kernel");
        return new AvgPool2d(k, a.optPair("stride", k), a.optPair("padding", Pair.of(0)));
    }

    @Override public String type() { return "AvgPool2d"; }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("AvgPool2d", in, 0, 4);
        Shape x = in.get(0);
        int h = Checks.window("AvgPool2d", "height", x.dim(2), kernel.h(), stride.h(), padding.h(), 1);
        int w = Checks.window("AvgPool2d", "width", x.dim(3), kernel.w(), stride.w(), padding.w(), 1);
        return List.of(Shape.of(x.dim(0), x.dim(1), h, w));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel() * kernel.h() * kernel.w(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return in.get(0).numel(); }
    /** PyTorch saves the input only for its shape; no activation memory is needed. */
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }

    @Override
    public void writeArgs(ObjectNode n) {
        n.set("kernel", kernel.toJson());
        if (!stride.equals(kernel)) n.set("stride", stride.toJson());
        if (!padding.equals(Pair.of(0))) n.set("padding", padding.toJson());
    }
}

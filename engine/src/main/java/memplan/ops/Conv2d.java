package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.ArrayList;
import java.util.List;

/** 2-D convolution over [N, C, H, W]; weight [out, in/groups, kh, kw]. Saves its input and weight (PyTorch). */
public record Conv2d(int outChannels, Pair kernel, Pair stride, Pair padding, Pair dilation, int groups, boolean bias)
        implements GemmOp {

    public static Conv2d of(int out, int kernel, int stride, int padding, boolean bias) {
        return new Conv2d(out, Pair.of(kernel), Pair.of(stride), Pair.of(padding), Pair.of(1), 1, bias);
    }

    @Override public String type() { return "Conv2d"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("Conv2d", in, 0, 4);
        Shape x = in.get(0);
        Checks.positive("Conv2d", "out", outChannels);
        Checks.positive("Conv2d", "groups", groups);
        Checks.groups("Conv2d", x.dim(1), outChannels, groups);
        int h = Checks.window("Conv2d", "height", x.dim(2), kernel.h(), stride.h(), padding.h(), dilation.h());
        int w = Checks.window("Conv2d", "width", x.dim(3), kernel.w(), stride.w(), padding.w(), dilation.w());
        return List.of(Shape.of(x.dim(0), outChannels, h, w));
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        List<ParamSpec> p = new ArrayList<>();
        p.add(ParamSpec.trainable("weight", outChannels, in.get(0).dim(1) / groups, kernel.h(), kernel.w()));
        if (bias) p.add(ParamSpec.trainable("bias", outChannels));
        return p;
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        long perOut = 2L * (in.get(0).dim(1) / groups) * kernel.h() * kernel.w();
        return out.get(0).numel() * perOut + (bias ? out.get(0).numel() : 0);
    }

    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0).withParams(); }

    /** im2col buffer for one image, as the CPU backend lowers a non-pointwise convolution. */
    @Override
    public long workspaceElements(List<Shape> in, List<Shape> out) {
        if (kernel.h() == 1 && kernel.w() == 1 && stride.h() == 1 && stride.w() == 1
                && padding.h() == 0 && padding.w() == 0)
            return 0;
        Shape o = out.get(0);
        return (long) in.get(0).dim(1) * kernel.h() * kernel.w() * o.dim(2) * o.dim(3);
    }
}

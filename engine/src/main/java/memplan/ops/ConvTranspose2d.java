package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.ArrayList;
import java.util.List;

/**
 * Transposed 2-D convolution over [N, C, H, W]; weight [in, out/groups, kh, kw] (PyTorch's and ONNX's layout).
 * Output size = (H - 1) stride - 2 padding + dilation (k - 1) + outputPadding + 1. Saves its input and weight.
 */
public record ConvTranspose2d(int outChannels, Pair kernel, Pair stride, Pair padding,
        Pair outputPadding, Pair dilation,
                              int groups, boolean bias) implements GemmOp {
    @Override public String type() { return "ConvTranspose2d"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    private static int size(int in, int k, int s, int p, int op, int d) {
        return (in - 1) * s - 2 * p + d * (k - 1) + op + 1;
    }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("ConvTranspose2d", in, 0, 4);
        Shape x = in.get(0);
        Checks.positive("ConvTranspose2d", "out", outChannels);
        Checks.positive("ConvTranspose2d", "groups", groups);
        Checks.positive("ConvTranspose2d", "stride", Math.min(stride.h(), stride.w()));
        Checks.groups("ConvTranspose2d", x.dim(1), outChannels, groups);
        int h = size(x.dim(2), kernel.h(), stride.h(), padding.h(), outputPadding.h(), dilation.h());
        int w = size(x.dim(3), kernel.w(), stride.w(), padding.w(), outputPadding.w(), dilation.w());
        if (h <= 0 || w <= 0) throw new ShapeException("ConvTranspose2d: padding " + padding
                + " leaves no output for " + x);
        return List.of(Shape.of(x.dim(0), outChannels, h, w));
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        List<ParamSpec> p = new ArrayList<>();
        p.add(ParamSpec.trainable("weight", in.get(0).dim(1), outChannels / groups, kernel.h(), kernel.w()));
        if (bias) p.add(ParamSpec.trainable("bias", outChannels));
        return p;
    }

    /** Each input element is multiplied into a kernel-sized patch of out/groups channels. */
    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        return 2L * in.get(0).numel() * (outChannels / groups) * kernel.h() * kernel.w() + (bias
                ? out.get(0).numel() : 0);
    }

    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0).withParams(); }

    /** col2im buffer for one image: (out/groups * kh * kw) x (H_in * W_in) per group. */
    @Override
    public long workspaceElements(List<Shape> in, List<Shape> out) {
        Shape x = in.get(0);
        return (long) outChannels * kernel.h() * kernel.w() * x.dim(2) * x.dim(3);
    }
}

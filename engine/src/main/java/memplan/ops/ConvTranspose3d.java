package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.ArrayList;
import java.util.List;

/**
 * Transposed 3-D convolution over [N, C, D, H, W]; weight [in, out/groups, kd, kh, kw] (PyTorch's and ONNX's
 * layout). Each output size = (in - 1) stride - 2 padding + dilation (k - 1) + outputPadding + 1. Saves its input and
 * weight (PyTorch's ConvolutionBackward0, as ConvTranspose2d).
 */
public record ConvTranspose3d(int outChannels, Triple kernel, Triple stride, Triple padding, Triple outputPadding,
                              Triple dilation, int groups, boolean bias) implements GemmOp {
    @Override public String type() { return "ConvTranspose3d"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    private static int size(int in, int k, int s, int p, int op, int d) {
        return (in - 1) * s - 2 * p + d * (k - 1) + op + 1;
    }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("ConvTranspose3d", in, 0, 5);
        Shape x = in.get(0);
        Checks.positive("ConvTranspose3d", "out", outChannels);
        Checks.positive("ConvTranspose3d", "groups", groups);
        Checks.positive("ConvTranspose3d", "stride", Math.min(stride.d(), Math.min(stride.h(), stride.w())));
        Checks.positive("ConvTranspose3d", "kernel", Math.min(kernel.d(), Math.min(kernel.h(), kernel.w())));
        Checks.positive("ConvTranspose3d", "dilation", Math.min(dilation.d(), Math.min(dilation.h(), dilation.w())));
        Checks.groups("ConvTranspose3d", x.dim(1), outChannels, groups);
        int d = size(x.dim(2), kernel.d(), stride.d(), padding.d(), outputPadding.d(), dilation.d());
        int h = size(x.dim(3), kernel.h(), stride.h(), padding.h(), outputPadding.h(), dilation.h());
        int w = size(x.dim(4), kernel.w(), stride.w(), padding.w(), outputPadding.w(), dilation.w());
        if (d <= 0 || h <= 0 || w <= 0) throw new ShapeException("ConvTranspose3d: padding " + padding
                + " leaves no output for " + x);
        return List.of(Shape.of(x.dim(0), outChannels, d, h, w));
    }

    public int kernelVolume() {
        return kernel.d() * kernel.h() * kernel.w();
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        List<ParamSpec> p = new ArrayList<>();
        p.add(ParamSpec.trainable("weight", in.get(0).dim(1), outChannels / groups, kernel.d(), kernel.h(),
                kernel.w()));
        if (bias) p.add(ParamSpec.trainable("bias", outChannels));
        return p;
    }

    /** Each input element is multiplied into a kernel-sized patch of out/groups channels. */
    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        return 2L * in.get(0).numel() * (outChannels / groups) * kernelVolume() + (bias ? out.get(0).numel() : 0);
    }

    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0).withParams(); }

    /** col2vol buffer for one image: (out * kd * kh * kw) x (D_in * H_in * W_in), as the GEMM lowering needs. */
    @Override
    public long workspaceElements(List<Shape> in, List<Shape> out) {
        Shape x = in.get(0);
        return (long) outChannels * kernelVolume() * x.dim(2) * x.dim(3) * x.dim(4);
    }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.ArrayList;
import java.util.List;

/**
 * 3-D convolution over [N, C, D, H, W]; weight [out, in/groups, kd, kh, kw]. Saves its input and weight (PyTorch's
 * ConvolutionBackward0, as Conv2d).
 */
public record Conv3d(int outChannels, Triple kernel, Triple stride, Triple padding, Triple dilation, int groups,
                     boolean bias) implements GemmOp {

    public static Conv3d of(int out, int kernel, int stride, int padding, boolean bias) {
        return new Conv3d(out, Triple.of(kernel), Triple.of(stride), Triple.of(padding), Triple.of(1), 1, bias);
    }

    @Override public String type() { return "Conv3d"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("Conv3d", in, 0, 5);
        Shape x = in.get(0);
        Checks.positive("Conv3d", "out", outChannels);
        Checks.positive("Conv3d", "groups", groups);
        Checks.groups("Conv3d", x.dim(1), outChannels, groups);
        int d = Checks.window("Conv3d", "depth", x.dim(2), kernel.d(), stride.d(), padding.d(), dilation.d());
        int h = Checks.window("Conv3d", "height", x.dim(3), kernel.h(), stride.h(), padding.h(), dilation.h());
        int w = Checks.window("Conv3d", "width", x.dim(4), kernel.w(), stride.w(), padding.w(), dilation.w());
        return List.of(Shape.of(x.dim(0), outChannels, d, h, w));
    }

    public int kernelVolume() {
        return kernel.d() * kernel.h() * kernel.w();
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        List<ParamSpec> p = new ArrayList<>();
        p.add(ParamSpec.trainable("weight", outChannels, in.get(0).dim(1) / groups, kernel.d(), kernel.h(),
                kernel.w()));
        if (bias) p.add(ParamSpec.trainable("bias", outChannels));
        return p;
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        long perOut = 2L * (in.get(0).dim(1) / groups) * kernelVolume();
        return out.get(0).numel() * perOut + (bias ? out.get(0).numel() : 0);
    }

    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0).withParams(); }

    /** vol2col buffer for one image, as a GEMM lowering of a non-pointwise 3-D convolution needs (PyTorch's). */
    @Override
    public long workspaceElements(List<Shape> in, List<Shape> out) {
        if (kernelVolume() == 1 && stride.equals(Triple.of(1)) && padding.equals(Triple.of(0))) return 0;
        Shape o = out.get(0);
        return (long) in.get(0).dim(1) * kernelVolume() * o.dim(2) * o.dim(3) * o.dim(4);
    }
}

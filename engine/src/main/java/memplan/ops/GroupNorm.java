package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * Group normalisation over [N, C, ...]: the channels in {@code groups} groups, each normalised over its channels and
 * all positions; with {@code affine}, a weight and bias [C]. Instance normalisation is groups = C. Saves its input,
 * weight, and the mean and reciprocal std per (N, group) in fp32 (PyTorch's native_group_norm).
 */
public record GroupNorm(int groups, double eps, boolean affine) implements NormOp {
    @Override public String type() { return "GroupNorm"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.positive("GroupNorm", "groups", groups);
        Shape x = in.get(0);
        if (x.rank() < 2) throw new ShapeException("GroupNorm: input must be [N, C, ...], got " + x);
        if (x.dim(1) % groups != 0)
            throw new ShapeException("GroupNorm: channels (" + x.dim(1) + ") must be divisible by groups (" + groups
                    + ")");
        return List.of(x);
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        if (!affine) return List.of();
        int c = in.get(0).dim(1);
        return List.of(ParamSpec.trainable("weight", c), ParamSpec.trainable("bias", c));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 8 * in.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 10 * in.get(0).numel(); }

    @Override
    public BackwardNeeds backwardNeeds() {
        return affine ? BackwardNeeds.inputs(0).withParams().withAux() : BackwardNeeds.inputs(0).withAux();
    }

    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        Shape s = Shape.of(in.get(0).dim(0), groups);
        return List.of(new AuxSpec("mean", s, DType.FP32), new AuxSpec("rstd", s, DType.FP32));
    }
}

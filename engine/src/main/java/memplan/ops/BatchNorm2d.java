package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.List;

/**
 * Batch normalisation over [N, C, H, W] in training mode. Trainable weight and bias [C]; running mean and
 * variance are buffers. Saves its input, weight, and the batch mean and inverse std per channel (fp32).
 */
public record BatchNorm2d(double eps, double momentum) implements NormOp {
    @Override public String type() { return "BatchNorm2d"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("BatchNorm2d", in, 0, 4);
        return List.of(in.get(0));
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        int c = in.get(0).dim(1);
        return List.of(ParamSpec.trainable("weight", c), ParamSpec.trainable("bias", c),
                ParamSpec.buffer("running_mean", c), ParamSpec.buffer("running_var", c));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 8 * in.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 10 * in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0).withParams().withAux(); }

    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        int c = in.get(0).dim(1);
        return List.of(new AuxSpec("mean", Shape.of(c), DType.FP32), new AuxSpec("invstd", Shape.of(c), DType.FP32));
    }
}

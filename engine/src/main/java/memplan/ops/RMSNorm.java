package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.List;

/**
 * Root-mean-square normalisation over the last dimension, x * rsqrt(mean(x^2) + eps) * weight, weight [D] and no
 * bias (Llama's RMSNorm). PyTorch 1.13 has no fused kernel: Hugging Face's module is written with pow, mean, rsqrt
 * and two products, whose saved tensors are the input (pow's), x^2 (1.13's mean keeps its input), the per-row rstd
 * (fp32) and the normalised x (the second product's operand); measured with saved_tensors_hooks. The op keeps the
 * same, x^2 unused by its own backward.
 */
public record RMSNorm(double eps) implements NormOp {
    @Override public String type() { return "RMSNorm"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.minRank("RMSNorm", in, 0, 1);
        return List.of(in.get(0));
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        return List.of(ParamSpec.trainable("weight", in.get(0).dim(-1)));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 4 * in.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 8 * in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0).withParams().withAux(); }

    /** rstd per row (fp32), the normalised input x * rstd and x^2 (the model's float type). */
    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        return List.of(new AuxSpec("rstd", in.get(0).withoutLast(), DType.FP32),
                new AuxSpec("normalized", in.get(0), null), new AuxSpec("squared", in.get(0), null));
    }
}

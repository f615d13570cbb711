package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.List;

/** Layer normalisation over the last dimension; weight and bias [D]. Saves input, params, per-row mean and rstd. */
public record LayerNorm(double eps) implements NormOp {
    @Override public String type() { return "LayerNorm"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.minRank("LayerNorm", in, 0, 1);
        return List.of(in.get(0));
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        int d = in.get(0).dim(-1);
        return List.of(ParamSpec.trainable("weight", d), ParamSpec.trainable("bias", d));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 8 * in.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 10 * in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0).withParams().withAux(); }

    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        Shape rows = in.get(0).withoutLast();
        return List.of(new AuxSpec("mean", rows, DType.FP32), new AuxSpec("rstd", rows, DType.FP32));
    }
}

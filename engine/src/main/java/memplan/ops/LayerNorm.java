package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.List;

/** Layer normalisation over the last dimension; weight and bias [D]. Saves input, params, per-row mean and rstd. */
public record LayerNorm(double eps) implements Op {
    public static LayerNorm fromJson(OpArgs a) {
        return new LayerNorm(a.optDouble("eps", 1e-5));
    }

    @Override public String type() { return "LayerNorm"; }
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

    @Override
    public void writeArgs(ObjectNode n) {
        if (eps != 1e-5) n.put("eps", eps);
    }
}

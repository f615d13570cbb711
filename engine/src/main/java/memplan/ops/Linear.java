package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.ArrayList;
import java.util.List;

/** y = x W^T + b over the last dimension of x; weight [out, in]. Saves input and weight. */
public record Linear(int outFeatures, boolean bias) implements GemmOp {
    @Override public String type() { return "Linear"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.minRank("Linear", in, 0, 1);
        Checks.positive("Linear", "out", outFeatures);
        return List.of(in.get(0).withDim(-1, outFeatures));
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        List<ParamSpec> p = new ArrayList<>();
        p.add(ParamSpec.trainable("weight", outFeatures, in.get(0).dim(-1)));
        if (bias) p.add(ParamSpec.trainable("bias", outFeatures));
        return p;
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        return 2L * in.get(0).numel() * outFeatures + (bias ? out.get(0).numel() : 0);
    }

    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0).withParams(); }
}

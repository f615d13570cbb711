package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.List;

/** Table lookup: integer indices [...] -> [..., dim]; weight [num, dim]. Saves the indices. */
public record Embedding(int numEmbeddings, int dim) implements SequenceOp {
    @Override public String type() { return "Embedding"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.positive("Embedding", "num", numEmbeddings);
        Checks.positive("Embedding", "dim", dim);
        return List.of(in.get(0).append(dim));
    }

    @Override public List<ParamSpec> params(List<Shape> in) { return List.of(ParamSpec.trainable("weight",
            numEmbeddings, dim)); }
    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }
    @Override public boolean differentiable(int input) { return false; }
    @Override public boolean integerInput(int input) { return input == 0; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Softmax along the last axis. Saves its output. */
public record Softmax() implements NormOp {
    @Override public String type() { return "Softmax"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }
    @Override public List<Shape> inferShapes(List<Shape> in) { Checks.minRank("Softmax", in, 0,
            1); return List.of(in.get(0)); }
    @Override public long flops(List<Shape> in, List<Shape> out) { return 5 * in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.outputs(0); }
}

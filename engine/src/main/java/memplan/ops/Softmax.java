package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Softmax along the last axis. Saves its output. */
public record Softmax() implements Op {
    @Override public String type() { return "Softmax"; }
    @Override public int arity() { return 1; }
    @Override public List<Shape> inferShapes(List<Shape> in) { Checks.minRank("Softmax", in, 0, 1); return List.of(in.get(0)); }
    @Override public long flops(List<Shape> in, List<Shape> out) { return 5 * in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.outputs(0); }
    @Override public void writeArgs(ObjectNode node) { }
}

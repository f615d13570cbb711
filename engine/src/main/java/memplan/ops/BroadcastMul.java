package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** a * b with NumPy broadcasting (e.g. a gate [N, C, 1, 1] times features). Saves both inputs, as {@link Mul}. */
public record BroadcastMul() implements Op {
    @Override public String type() { return "BroadcastMul"; }
    @Override public int arity() { return 2; }
    @Override public List<Shape> inferShapes(List<Shape> in) { return List.of(Broadcast.shape("BroadcastMul", in)); }
    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 2 * out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0, 1); }
    @Override public void writeArgs(ObjectNode node) { }
}

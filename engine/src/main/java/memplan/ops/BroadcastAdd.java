package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/**
 * a + b with NumPy broadcasting (ONNX Add of differently shaped activations, e.g. x + mean[N, T, 1]).
 * {@link Add} stays the same-shape op; backward sums the gradient over broadcast dimensions and saves nothing.
 */
public record BroadcastAdd() implements Op {
    @Override public String type() { return "BroadcastAdd"; }
    @Override public int arity() { return 2; }
    @Override public List<Shape> inferShapes(List<Shape> in) { return List.of(Broadcast.shape("BroadcastAdd", in)); }
    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public void writeArgs(ObjectNode node) { }
}

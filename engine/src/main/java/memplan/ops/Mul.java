package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Elementwise product of two tensors of the same shape. Saves both inputs. */
public record Mul() implements Op {
    @Override public String type() { return "Mul"; }
    @Override public int arity() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.sameShape("Mul", in);
        return List.of(in.get(0));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 2 * out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0, 1); }
    @Override public void writeArgs(ObjectNode node) { }
}

package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.ArrayList;
import java.util.List;

/**
 * An operator MemPlan does not model (kept by an importer on request so a profile can still be seen): every output
 * has the shape of input 0, costs one flop per element, and backward is assumed to read input 0. {@code source}
 * names the original operator, e.g. "onnx:NonMaxSuppression".
 */
public record Opaque(String source, int inputCount, int outputs) implements Op {
    public static Opaque fromJson(OpArgs a) {
        return new Opaque(a.optString("source", "unknown"), a.optInt("arity", 1), a.optInt("outputs", 1));
    }

    @Override public String type() { return "Opaque"; }
    @Override public int arity() { return inputCount; }
    @Override public int outputCount() { return outputs; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        List<Shape> out = new ArrayList<>();
        for (int i = 0; i < outputs; i++) out.add(in.get(0));
        return out;
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }

    @Override
    public void writeArgs(ObjectNode n) {
        n.put("source", source);
        if (inputCount != 1) n.put("arity", inputCount); // "inputs" is the layer's own key
        if (outputs != 1) n.put("outputs", outputs);
    }
}

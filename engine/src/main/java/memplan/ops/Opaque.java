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
    /** Bounds on what a file may declare: each output is a tensor, with a gradient, in every analysis. */
    public static final int MAX_INPUTS = 4096, MAX_OUTPUTS = 4096;

    public Opaque {
        if (inputCount < 1 || inputCount > MAX_INPUTS)
            throw new IllegalArgumentException("Opaque: arity must be 1.." + MAX_INPUTS + ", got " + inputCount);
        if (outputs < 1 || outputs > MAX_OUTPUTS)
            throw new IllegalArgumentException("Opaque: outputs must be 1.." + MAX_OUTPUTS + ", got " + outputs);
    }

    public static Opaque fromJson(OpArgs a) {
        int arity = a.optInt("arity", 1), outputs = a.optInt("outputs", 1);
        if (arity < 1 || arity > MAX_INPUTS)
            throw a.invalid("arity", "an Opaque op takes 1.." + MAX_INPUTS
                    + " inputs (its outputs take input 0's shape), got " + arity);
        if (outputs < 1 || outputs > MAX_OUTPUTS)
            throw a.invalid("outputs", "an Opaque op has 1.." + MAX_OUTPUTS + " outputs, got " + outputs);
        return new Opaque(a.optString("source", "unknown"), arity, outputs);
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

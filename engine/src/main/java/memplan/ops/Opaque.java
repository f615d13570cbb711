package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.ArrayList;
import java.util.List;

/**
 * An operator MemPlan does not model (kept by an importer on request so a profile can still be seen): every output
 * has the shape of input 0, costs one flop per element, and backward is assumed to read input 0. {@code source}
 * names the original operator, e.g. "onnx:NonMaxSuppression".
 */
public record Opaque(String source, int inputCount, int outputs) implements OpaqueOp {
    /** Bounds on what a file may declare: each output is a tensor, with a gradient, in every analysis. */
    public static final int MAX_INPUTS = 4096, MAX_OUTPUTS = 4096;

    public Opaque {
        if (inputCount < 1 || inputCount > MAX_INPUTS)
            throw new IllegalArgumentException("Opaque: arity must be 1.." + MAX_INPUTS + ", got " + inputCount);
        if (outputs < 1 || outputs > MAX_OUTPUTS)
            throw new IllegalArgumentException("Opaque: outputs must be 1.." + MAX_OUTPUTS + ", got " + outputs);
    }

    @Override public String type() { return "Opaque"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
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
}

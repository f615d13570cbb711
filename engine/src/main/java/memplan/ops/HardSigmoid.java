package memplan.ops;

import memplan.ir.BackwardNeeds;

/**
 * max(0, min(1, alpha x + beta)); ONNX's defaults are 0.2 and 0.5 (PyTorch's hardsigmoid is 1/6, 0.5). Saves its input.
 */
public record HardSigmoid(double alpha, double beta) implements Elementwise {
    @Override public String type() { return "HardSigmoid"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 3; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;

/**
 * SiLU (swish), x * sigmoid(x): PyTorch's nn.SiLU, which saves its input for backward (exporters write it as
 * Sigmoid and Mul, which would keep two tensors; the importer fuses them back). Cannot run in place.
 */
public record SiLU() implements Elementwise {
    @Override public String type() { return "SiLU"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 5; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }
}

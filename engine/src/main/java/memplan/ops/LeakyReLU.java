package memplan.ops;

import memplan.ir.BackwardNeeds;

/** x for x > 0, slope * x otherwise. PyTorch's backward reads its input (not in place by default). */
public record LeakyReLU(double slope) implements Elementwise {
    @Override public String type() { return "LeakyReLU"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 2; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }
}

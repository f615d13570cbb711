package memplan.ops;

import memplan.ir.BackwardNeeds;

/** tanh(x). Backward uses 1-y^2: needs its output only. */
public record Tanh() implements Elementwise {
    @Override public String type() { return "Tanh"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 4; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.outputs(0); }
    @Override public boolean mayRunInPlace() { return true; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;

/** 1 / (1 + e^-x). Backward uses y(1-y): needs its output only. */
public record Sigmoid() implements Elementwise {
    @Override public String type() { return "Sigmoid"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 4; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.outputs(0); }
    @Override public boolean mayRunInPlace() { return true; }
}

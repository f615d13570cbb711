package memplan.ops;

import memplan.ir.BackwardNeeds;

/**
 * Clamps to [min, max] (ReLU6 is Clip(0, 6)); an absent bound is infinite. Backward masks the gradient by where the
 * result lies strictly inside the bounds, so it needs only its output and may run in place (ReLU6(inplace=True)).
 */
public record Clip(double min, double max) implements Elementwise {
    @Override public String type() { return "Clip"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 2; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.outputs(0); }
    @Override public boolean mayRunInPlace() { return true; }
}

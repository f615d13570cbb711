package memplan.ops;

import memplan.ir.BackwardNeeds;

/** max(x, 0). Backward needs only its output, so it may overwrite its input (torchvision's inplace=True). */
public record ReLU() implements Elementwise {
    @Override public String type() { return "ReLU"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.outputs(0); }
    @Override public boolean mayRunInPlace() { return true; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;

/** x * hardsigmoid(x) (MobileNetV3). Backward reads its input. */
public record HardSwish() implements Elementwise {
    @Override public String type() { return "HardSwish"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 4; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;

/** Elementwise square root. Backward is g / (2 sqrt(x)): it needs its output only. */
public record Sqrt() implements Elementwise {
    @Override public String type() { return "Sqrt"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 4; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.outputs(0); }
}

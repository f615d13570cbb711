package memplan.ops;

import memplan.ir.BackwardNeeds;

/** GELU with the tanh approximation (as GPT-2 uses). Backward needs its input, so it cannot run in place. */
public record GELU() implements Elementwise {
    @Override public String type() { return "GELU"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 8; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }
}

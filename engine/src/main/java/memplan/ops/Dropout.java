package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;

import java.util.List;

/** Zeroes elements with probability p and scales the rest by 1/(1-p); saves a 1-byte mask per element. */
public record Dropout(double p) implements Elementwise {
    @Override public String type() { return "Dropout"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING.withAux(); }
    @Override public boolean mayRunInPlace() { return true; }

    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        return List.of(new AuxSpec("mask", in.get(0), DType.BOOL));
    }
}

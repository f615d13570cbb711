package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;

import java.util.List;

/** Zeroes elements with probability p and scales the rest by 1/(1-p); saves a 1-byte mask per element. */
public record Dropout(double p) implements Elementwise {
    public static Dropout fromJson(OpArgs a) {
        double p = a.optDouble("p", 0.5);
        if (p < 0 || p >= 1) throw a.invalid("p", "'p' must be in [0, 1), got " + p);
        return new Dropout(p);
    }

    @Override public String type() { return "Dropout"; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING.withAux(); }
    @Override public boolean mayRunInPlace() { return true; }

    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        return List.of(new AuxSpec("mask", in.get(0), DType.BOOL));
    }

    @Override public void writeArgs(ObjectNode node) { node.put("p", p); }
}

package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Elementwise sum of two tensors of the same shape. Backward needs nothing, so it may write over input 0. */
public record Add() implements Op {
    @Override public String type() { return "Add"; }
    @Override public int arity() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.sameShape("Add", in);
        return List.of(in.get(0));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public boolean mayRunInPlace() { return true; }
    @Override public void writeArgs(ObjectNode node) { }
}

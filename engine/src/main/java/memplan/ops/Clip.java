package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;

/**
 * Clamps to [min, max] (ReLU6 is Clip(0, 6)); an absent bound is infinite. Backward masks the gradient by where the
 * result lies strictly inside the bounds, so it needs only its output and may run in place (ReLU6(inplace=True)).
 */
public record Clip(double min, double max) implements Elementwise {
    public static Clip fromJson(OpArgs a) {
        return new Clip(a.optDouble("min", Double.NEGATIVE_INFINITY), a.optDouble("max", Double.POSITIVE_INFINITY));
    }

    @Override public String type() { return "Clip"; }
    @Override public int flopsPerElement() { return 2; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.outputs(0); }
    @Override public boolean mayRunInPlace() { return true; }

    @Override
    public void writeArgs(ObjectNode n) {
        if (min != Double.NEGATIVE_INFINITY) n.put("min", min);
        if (max != Double.POSITIVE_INFINITY) n.put("max", max);
    }
}

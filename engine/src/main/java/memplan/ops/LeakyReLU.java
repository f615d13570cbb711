package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;

/** x for x > 0, slope * x otherwise. PyTorch's backward reads its input (not in place by default). */
public record LeakyReLU(double slope) implements Elementwise {
    public static LeakyReLU fromJson(OpArgs a) {
        return new LeakyReLU(a.optDouble("slope", 0.01));
    }

    @Override public String type() { return "LeakyReLU"; }
    @Override public int flopsPerElement() { return 2; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }
    @Override public void writeArgs(ObjectNode n) { if (slope != 0.01) n.put("slope", slope); }
}

package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;

/** max(0, min(1, alpha x + beta)); ONNX's defaults are 0.2 and 0.5 (PyTorch's hardsigmoid is 1/6, 0.5). Saves its input. */
public record HardSigmoid(double alpha, double beta) implements Elementwise {
    public static HardSigmoid fromJson(OpArgs a) {
        return new HardSigmoid(a.optDouble("alpha", 0.2), a.optDouble("beta", 0.5));
    }

    @Override public String type() { return "HardSigmoid"; }
    @Override public int flopsPerElement() { return 3; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }

    @Override
    public void writeArgs(ObjectNode n) {
        if (alpha != 0.2) n.put("alpha", alpha);
        if (beta != 0.5) n.put("beta", beta);
    }
}

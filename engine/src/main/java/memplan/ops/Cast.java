package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;

/**
 * Converts to another dtype (an int64 mask to the model's float type, say): a new tensor of the input's shape.
 * to = null means the model's floating type. No gradient flows through it into integer inputs.
 */
public record Cast(DType to) implements Elementwise {
    public static Cast fromJson(OpArgs a) {
        String t = a.optString("to", "float");
        if (t.equals("float")) return new Cast(null);
        DType d = DType.parse(t);
        if (d == null) throw a.invalid("to", "unknown dtype '" + t + "' (use float, fp32, fp16, bf16, int64, int32, bool)");
        return new Cast(d);
    }

    @Override public String type() { return "Cast"; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public DType outputDType(int output) { return to; }
    @Override public boolean differentiable(int input) { return to == null || to.floating; }
    @Override public void writeArgs(ObjectNode n) { n.put("to", to == null ? "float" : to.jsonName()); }
}

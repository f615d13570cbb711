package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * Pads each dimension: {@code pads} holds 2 x rank values, all the begins then all the ends (ONNX's order).
 * mode "constant", "reflect" or "edge" changes values, not memory. Backward slices the gradient: saves nothing.
 */
public record Pad(List<Integer> pads, String mode) implements Op {
    public Pad {
        pads = List.copyOf(pads);
    }

    public static Pad fromJson(OpArgs a) {
        String m = a.optString("mode", "constant");
        if (!List.of("constant", "reflect", "edge").contains(m)) throw a.invalid("mode", "'mode' must be constant, reflect or edge, got " + m);
        return new Pad(a.requireIntList("pads"), m);
    }

    @Override public String type() { return "Pad"; }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        if (pads.size() != 2 * x.rank()) throw new ShapeException("Pad: needs " + 2 * x.rank() + " pad values for " + x + ", got " + pads);
        int[] d = x.dims();
        for (int i = 0; i < d.length; i++) {
            d[i] += pads.get(i) + pads.get(i + d.length);
            if (d[i] <= 0) throw new ShapeException("Pad: pads " + pads + " leave nothing of dimension " + i + " of " + x);
        }
        return List.of(new Shape(d));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }

    @Override
    public void writeArgs(ObjectNode n) {
        var a = n.putArray("pads");
        pads.forEach(a::add);
        if (!mode.equals("constant")) n.put("mode", mode);
    }
}

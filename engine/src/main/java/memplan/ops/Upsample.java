package memplan.ops;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Nearest-neighbour upsampling of [N, C, H, W] by an integer factor. Backward sums each block; saves nothing. */
public record Upsample(int scale) implements Op {
    public static Upsample fromJson(OpArgs a) {
        int s = a.optInt("scale", 2);
        if (s < 1) throw a.invalid("scale", "'scale' must be a positive integer, got " + s);
        return new Upsample(s);
    }

    @Override public String type() { return "Upsample"; }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("Upsample", in, 0, 4);
        Shape x = in.get(0);
        return List.of(Shape.of(x.dim(0), x.dim(1), x.dim(2) * scale, x.dim(3) * scale));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public void writeArgs(ObjectNode n) { if (scale != 2) n.put("scale", scale); }
}

package memplan.ops;

import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/** NumPy/ONNX broadcasting of two shapes: align from the right; each pair of dimensions must match or one be 1. */
final class Broadcast {
    private Broadcast() {
    }

    static Shape shape(String op, Shape a, Shape b) {
        int r = Math.max(a.rank(), b.rank());
        int[] d = new int[r];
        for (int i = 0; i < r; i++) {
            int x = i - (r - a.rank()) >= 0 ? a.dim(i - (r - a.rank())) : 1;
            int y = i - (r - b.rank()) >= 0 ? b.dim(i - (r - b.rank())) : 1;
            if (x != y && x != 1 && y != 1)
                throw new ShapeException(op + ": shapes " + a + " and " + b + " do not broadcast (dimension " + i
                        + ": " + x + " vs " + y + ")");
            d[i] = x == 1 ? y : x;
        }
        return new Shape(d);
    }

    static Shape shape(String op, List<Shape> in) {
        return shape(op, in.get(0), in.get(1));
    }
}

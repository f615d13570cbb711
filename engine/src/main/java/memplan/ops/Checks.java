package memplan.ops;

import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/** Shape checks shared by ops; each failure says which input and why. */
final class Checks {
    private Checks() {
    }

    static void rank(String op, List<Shape> in, int input, int... allowed) {
        Shape s = in.get(input);
        for (int r : allowed) if (s.rank() == r) return;
        throw new ShapeException(op + ": input " + input + " must have rank " + joinOr(allowed) + ", got " + s);
    }

    static void minRank(String op, List<Shape> in, int input, int min) {
        if (in.get(input).rank() < min)
            throw new ShapeException(op + ": input " + input + " must have rank at least " + min
                    + ", got " + in.get(input));
    }

    static void sameShape(String op, List<Shape> in) {
        for (int i = 1; i < in.size(); i++)
            if (!in.get(i).equals(in.get(0)))
                throw new ShapeException(op + ": inputs must have the same shape, got "
                        + in.get(0) + " and " + in.get(i));
    }

    static void positive(String op, String what, int v) {
        if (v <= 0) throw new ShapeException(op + ": " + what + " must be positive, got " + v);
    }

    /** Both channel counts of a grouped convolution split evenly into its groups. */
    static void groups(String op, int in, int out, int groups) {
        if (in % groups != 0 || out % groups != 0)
            throw new ShapeException(op + ": channels in (" + in + ") and out (" + out
                    + ") must both be divisible by groups (" + groups + ")");
    }

    static int axis(String op, int axis, int rank) {
        int a = axis < 0 ? rank + axis : axis;
        if (a < 0 || a >= rank) throw new ShapeException(op + ": axis " + axis + " is out of range for rank " + rank);
        return a;
    }

    /** Output size of a sliding window along one dimension, as PyTorch computes it (floor mode). */
    static int window(String op, String dim, int size, int kernel, int stride, int pad, int dilation) {
        positive(op, "stride", stride);
        positive(op, "kernel size", kernel);
        positive(op, "dilation", dilation);
        if (pad < 0) throw new ShapeException(op + ": padding must not be negative, got " + pad);
        int eff = dilation * (kernel - 1) + 1;
        int out = (size + 2 * pad - eff) / stride + 1;
        if (size + 2 * pad < eff || out <= 0)
            throw new ShapeException(op + ": kernel " + kernel + " (dilation " + dilation + ") does not fit " + dim
                    + " " + size + " with padding " + pad);
        return out;
    }

    private static String joinOr(int[] xs) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < xs.length; i++) b.append(i == 0 ? "" : i == xs.length - 1 ? " or " : ", ").append(xs[i]);
        return b.toString();
    }
}

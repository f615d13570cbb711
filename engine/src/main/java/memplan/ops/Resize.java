package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.Arrays;
import java.util.List;

/**
 * Resizes the 1 to 3 spatial axes of [N, C, ...] to {@code sizes} by ONNX Resize's rule (PyTorch's interpolate):
 * each output coordinate maps to an input coordinate by the coordinate transformation (with {@code scales}, the
 * factor the file gives, or the size ratio when there are none), then reads one element (nearest, rounded by
 * {@code nearest}), two (linear) or four (cubic, coefficient {@code cubicA}) per axis, their product over the axes as
 * weights. Backward
 * scatters the gradient by the same weights; saves nothing (PyTorch's upsample_* keep only the input size).
 */
public record Resize(List<Integer> sizes, List<Double> scales, String mode, String coordinates, String nearest,
                     double cubicA, boolean excludeOutside) implements MovementOp {
    public static final List<String> MODES = List.of("nearest", "linear", "cubic");
    public static final List<String> COORDINATES = List.of("half_pixel", "pytorch_half_pixel", "align_corners",
            "asymmetric", "tf_half_pixel_for_nn", "half_pixel_symmetric");
    public static final List<String> ROUNDINGS = List.of("round_prefer_floor", "round_prefer_ceil", "floor", "ceil");

    public Resize {
        sizes = List.copyOf(sizes);
        scales = List.copyOf(scales);
        if (sizes.isEmpty() || sizes.size() > 3 || !scales.isEmpty() && scales.size() != sizes.size())
            throw new ShapeException("Resize: needs 1 to 3 output sizes and as many scales (or none), got sizes "
                    + sizes + " and scales " + scales);
        if (!MODES.contains(mode)) throw new ShapeException("Resize: mode must be one of " + MODES + ", got " + mode);
        if (!COORDINATES.contains(coordinates))
            throw new ShapeException("Resize: coordinates must be one of " + COORDINATES + ", got " + coordinates);
        if (!ROUNDINGS.contains(nearest))
            throw new ShapeException("Resize: nearest must be one of " + ROUNDINGS + ", got " + nearest);
        for (int v : sizes) if (v <= 0) throw new ShapeException("Resize: sizes must be positive, got " + sizes);
        for (double v : scales)
            if (!(v > 0) || Double.isInfinite(v))
                throw new ShapeException("Resize: scales must be positive and finite, got " + scales);
    }

    /** A resize to {@code sizes} by their ratio to the input's (no scales), PyTorch's rounding and coefficient. */
    public static Resize of(String mode, String coordinates, int... sizes) {
        return new Resize(Arrays.stream(sizes).boxed().toList(), List.of(), mode, coordinates,
                mode.equals("nearest") ? "floor" : "round_prefer_floor", -0.75, false);
    }

    @Override public String type() { return "Resize"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        if (x.rank() != 2 + sizes.size())
            throw new ShapeException("Resize: " + sizes.size() + " output sizes need an input of rank "
                    + (2 + sizes.size()) + ", got " + x);
        int[] d = x.dims();
        for (int i = 0; i < sizes.size(); i++) d[2 + i] = sizes.get(i);
        return List.of(new Shape(d));
    }

    /** Input elements read per output element along one axis. */
    public int tapsPerAxis() {
        return switch (mode) {
            case "nearest" -> 1;
            case "linear" -> 2;
            default -> 4;
        };
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        return 2L * out.get(0).numel() * (long) Math.pow(tapsPerAxis(), sizes.size());
    }

    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }

    /** Per output coordinate o of one axis, the input coordinates idx[o T + t] read with weights w[o T + t]. */
    public record Taps(int count, int[] idx, double[] w) {
    }

    /** The input coordinate (before rounding) of output coordinate o of spatial axis {@code axis}, input size n. */
    public double source(int axis, int o, int n) {
        int out = sizes.get(axis);
        double s = scales.isEmpty() ? (double) out / n : scales.get(axis);
        return switch (coordinates) {
            case "align_corners" -> out == 1 ? 0 : (double) o * (n - 1) / (out - 1);
            case "asymmetric" -> o / s;
            case "pytorch_half_pixel" -> out > 1 ? (o + 0.5) / s - 0.5 : 0;
            case "tf_half_pixel_for_nn" -> (o + 0.5) / s;
            case "half_pixel_symmetric" -> {
                double adj = out / (s * n), center = n / 2.0, off = center * (1 - adj);
                yield off + (o + 0.5) / s - 0.5;
            }
            default -> (o + 0.5) / s - 0.5; // half_pixel
        };
    }

    /** The taps of spatial axis {@code axis} for an input of size n along it. */
    public Taps taps(int axis, int n) {
        int out = sizes.get(axis), t = tapsPerAxis();
        int[] idx = new int[out * t];
        double[] w = new double[out * t];
        for (int o = 0; o < out; o++) {
            double x = source(axis, o, n);
            switch (mode) {
                case "nearest" -> {
                    double r = switch (nearest) {
                        case "round_prefer_ceil" -> Math.floor(x + 0.5);
                        case "floor" -> Math.floor(x);
                        case "ceil" -> Math.ceil(x);
                        default -> Math.ceil(x - 0.5);
                    };
                    idx[o] = clamp((long) r, n);
                    w[o] = 1;
                }
                case "linear" -> {
                    double c = Math.min(Math.max(x, 0), n - 1);
                    int i0 = (int) Math.floor(c);
                    double l = c - i0;
                    idx[2 * o] = i0;
                    idx[2 * o + 1] = Math.min(i0 + 1, n - 1);
                    w[2 * o] = 1 - l;
                    w[2 * o + 1] = l;
                }
                default -> {
                    double f = Math.floor(x), l = x - f, a = cubicA;
                    double[] c = {cubic(a, l + 1), cubic(a, l), cubic(a, 1 - l), cubic(a, 2 - l)};
                    double sum = 0;
                    for (int k = 0; k < 4; k++) {
                        long i = (long) f - 1 + k;
                        if (excludeOutside && (i < 0 || i >= n)) c[k] = 0;
                        sum += c[k];
                        idx[4 * o + k] = clamp(i, n);
                    }
                    for (int k = 0; k < 4; k++) w[4 * o + k] = excludeOutside ? c[k] / sum : c[k];
                }
            }
        }
        return new Taps(t, idx, w);
    }

    /** Keys' cubic convolution kernel at distance d (0..2) with coefficient a (PyTorch's and ONNX's). */
    private static double cubic(double a, double d) {
        d = Math.abs(d);
        if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
        if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
        return 0;
    }

    private static int clamp(long i, int n) {
        return (int) Math.max(0, Math.min(n - 1, i));
    }
}

package memplan.onnx;

import memplan.ir.Shape;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The values one foldable node computes in one lane, from constant inputs; see {@link ConstantFolder}. */
final class FoldRules {
    private final OnnxNode n;
    private final Path modelDir;
    private int lane;
    private boolean shapeOnly;

    FoldRules(OnnxNode n, Path modelDir) {
        this.n = n;
        this.modelDir = modelDir;
    }

    static long clampIndex(long i, int dim) {
        if (i < 0) i += dim;
        return Math.max(0, Math.min(dim, i));
    }

    /** Input k's values in the current lane; with shapeOnly, a placeholder of its shape. */
    private Arr arg(int k) {
        Val.Const c = n.required(k, null).c;
        if (shapeOnly) return new Arr(c.shape, new double[(int) Math.min(c.numel(), 1)]);
        return n.values(c, lane, "input " + k);
    }

    private double single(int k, String what) {
        Arr a = arg(k);
        if (a.v().length != 1) throw n.error("the " + what + " must be a single value, got shape "
                + Arrays.toString(a.shape()));
        return a.v()[0];
    }

    /** Folds the node in one lane; with shapeOnly, value-free ops return a placeholder of the right shape. */
    Arr lane(int lane, boolean shapeOnly) {
        this.lane = lane;
        this.shapeOnly = shapeOnly;
        String op = n.type();
        Arr x = arg(0);
        switch (op) {
            case "Identity", "Cast" -> {
                if (op.equals("Cast") && !OnnxTensor.isFloating(n.attrSmallInt("to", 1)) && !shapeOnly) {
                    double[] v = x.v().clone();
                    for (int i = 0; i < v.length; i++) v[i] = v[i] < 0 ? Math.ceil(v[i]) : Math.floor(v[i]);
                    return new Arr(x.shape(), v);
                }
                return x;
            }
            case "Reshape" -> {
                long[] sp = n.values(n.required(1, "shape").c, lane, "target shape").longs();
                long[] t = ViewMapper.resolveReshape(new Shape(x.shape()), sp, n.attrInt("allowzero", 0) != 0);
                if (t == null) throw n.error("cannot reshape " + Arrays.toString(x.shape()) + " to "
                        + Arrays.toString(sp));
                int[] s = n.smallInts(t, "dimension");
                return shapeOnly ? new Arr(s, x.v()) : x.reshape(s);
            }
            case "Flatten" -> {
                int axis = flattenAxis(n, x.rank());
                Shape s = new Shape(x.shape());
                int[] t = {(int) s.numel(0, axis), (int) s.numel(axis, s.rank())};
                return shapeOnly ? new Arr(t, x.v()) : x.reshape(t);
            }
            case "Transpose" -> {
                int[] perm = permutation(n, x.rank());
                if (shapeOnly) {
                    int[] s = new int[perm.length];
                    for (int i = 0; i < s.length; i++) s[i] = x.shape()[perm[i]];
                    return new Arr(s, x.v());
                }
                return Arr.transpose(x, perm);
            }
            case "Unsqueeze", "Squeeze" -> {
                long[] axes = n.opset() < 13 ? n.attrInts("axes")
                        : n.has(1) ? n.values(n.in(1).c, lane, "axes").longs() : null;
                int[] s = op.equals("Unsqueeze") ? unsqueezed(n, x.shape(), axes) : squeezed(n, x.shape(), axes);
                return shapeOnly ? new Arr(s, x.v()) : x.reshape(s);
            }
            case "Gather" -> {
                return Arr.gather(x, arg(1), n.axis(n.attrInt("axis", 0), x.rank(), "axis"));
            }
            case "Concat" -> {
                List<Arr> parts = new ArrayList<>();
                for (int k = 0; k < n.proto.getInputCount(); k++) if (n.has(k)) parts.add(arg(k));
                int axis = n.axis(n.attrInt("axis", 0), x.rank(), "axis");
                for (Arr p : parts) {
                    boolean fits = p.rank() == x.rank();
                    for (int i = 0; fits && i < x.rank(); i++) fits = i == axis || p.shape()[i] == x.shape()[i];
                    if (!fits) throw n.error("cannot concatenate " + Arrays.toString(x.shape()) + " and "
                            + Arrays.toString(p.shape()) + " on axis " + axis);
                }
                return Arr.concat(parts, axis);
            }
            case "Slice" -> {
                return slice(x);
            }
            case "Add" -> { return Arr.binary(x, arg(1), Double::sum); }
            case "Sub" -> { return Arr.binary(x, arg(1), (p, q) -> p - q); }
            case "Mul" -> { return Arr.binary(x, arg(1), (p, q) -> p * q); }
            case "Div" -> {
                boolean integer = !n.in(0).c.floating && !n.required(1, "divisor").c.floating;
                return Arr.binary(x, arg(1), (p, q) -> integer ? Math.floor(p / q) : p / q);
            }
            case "Mod" -> {
                if (n.attrInt("fmod", 0) == 1) return Arr.binary(x, arg(1), (p, q) -> p % q); // the dividend's sign
                return Arr.binary(x, arg(1), (p, q) -> p - Math.floor(p / q) * q);
            }
            case "Pow" -> { return Arr.binary(x, arg(1), Math::pow); }
            case "Min" -> { return Arr.binary(x, arg(1), Math::min); }
            case "Max" -> { return Arr.binary(x, arg(1), Math::max); }
            case "Equal" -> { return Arr.binary(x, arg(1), (p, q) -> p == q ? 1 : 0); }
            case "Less" -> { return Arr.binary(x, arg(1), (p, q) -> p < q ? 1 : 0); }
            case "Greater" -> { return Arr.binary(x, arg(1), (p, q) -> p > q ? 1 : 0); }
            case "Where" -> { return Arr.where(x, arg(1), arg(2)); }
            case "And" -> { return Arr.binary(x, arg(1), (p, q) -> p != 0 && q != 0 ? 1 : 0); }
            case "Or" -> { return Arr.binary(x, arg(1), (p, q) -> p != 0 || q != 0 ? 1 : 0); }
            case "Xor" -> { return Arr.binary(x, arg(1), (p, q) -> (p != 0) != (q != 0) ? 1 : 0); }
            case "Tile" -> {
                long[] reps = arg(1).longs();
                if (reps.length != x.rank())
                    throw n.error("gives " + reps.length + " repeats for a tensor of rank " + x.rank());
                for (long r : reps) if (r < 0) throw n.error("repeats must not be negative, got " + r);
                return Arr.tile(x, n.smallInts(reps, "repeat"));
            }
            case "ScatterND" -> { return scatterNd(x, arg(1), arg(2)); }
            case "CumSum" -> {
                int axis = n.axis((long) single(1, "axis"), x.rank(), "axis");
                return Arr.cumsum(x, axis, n.attrInt("exclusive", 0) != 0, n.attrInt("reverse", 0) != 0);
            }
            case "Sqrt", "Neg", "Floor", "Ceil", "Abs", "Not", "Reciprocal" -> {
                double[] v = x.v().clone();
                for (int i = 0; i < v.length; i++)
                    v[i] = switch (op) {
                        case "Sqrt" -> Math.sqrt(v[i]);
                        case "Neg" -> -v[i];
                        case "Floor" -> Math.floor(v[i]);
                        case "Ceil" -> Math.ceil(v[i]);
                        case "Abs" -> Math.abs(v[i]);
                        case "Reciprocal" -> 1 / v[i];
                        default -> v[i] == 0 ? 1 : 0;
                    };
                return new Arr(x.shape(), v);
            }
            case "Range" -> {
                return range();
            }
            case "Expand" -> {
                int[] target = n.smallInts(arg(1).longs(), "target dimension");
                return Arr.expand(x, Arr.broadcastShape(x.shape(), target));
            }
            case "ConstantOfShape" -> {
                int[] s = n.smallInts(x.longs(), "dimension");
                double value = 0;
                if (n.attrTensor("value") != null) {
                    double[] v = OnnxTensor.decode(n.attrTensor("value"), modelDir, n.where());
                    if (v != null && v.length > 0) value = v[0];
                }
                double[] v = new double[Arr.numel(s)];
                Arrays.fill(v, value);
                return new Arr(s, v);
            }
            default -> throw new Unsupported(op + " (constant folding)", null);
        }
    }

    /** Slice's starts, ends, axes (null: the first ones) and steps (null: all 1), checked to fit each other. */
    record SliceArgs(long[] starts, long[] ends, long[] axes, long[] steps) {
    }

    /** Slice's arguments in a lane: inputs from opset 10, attributes (starts, ends, axes; no steps) before. */
    static SliceArgs sliceArgs(OnnxNode n, int lane) {
        SliceArgs a;
        if (n.opset() < 10) {
            long[] s = n.attrInts("starts"), e = n.attrInts("ends");
            if (s == null || e == null) throw n.error("attribute '" + (s == null ? "starts" : "ends") + "' is missing");
            a = new SliceArgs(s, e, n.attrInts("axes"), null);
        } else {
            Val.Const ca = n.optCst(3, "axes"), cs = n.optCst(4, "steps");
            a = new SliceArgs(n.values(n.cst(1, "starts"), lane, "starts").longs(),
                    n.values(n.cst(2, "ends"), lane, "ends").longs(),
                    ca == null ? null : n.values(ca, lane, "axes").longs(),
                    cs == null ? null : n.values(cs, lane, "steps").longs());
        }
        int m = a.starts().length;
        n.length(a.ends(), m, "ends");
        n.length(a.axes(), m, "axes");
        n.length(a.steps(), m, "steps");
        if (a.steps() != null) for (long st : a.steps()) if (st == 0) throw n.error("a slice step must not be 0");
        return a;
    }

    private Arr slice(Arr x) {
        SliceArgs args = sliceArgs(n, lane);
        long[] s = args.starts(), e = args.ends(), a = args.axes(), st = args.steps();
        int[] axes = new int[s.length], lo = new int[s.length], hi = new int[s.length], steps = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            axes[i] = n.axis(a == null ? i : a[i], x.rank(), "axis");
            steps[i] = st == null ? 1 : (int) Math.max(-Integer.MAX_VALUE, Math.min(Integer.MAX_VALUE, st[i]));
            int dim = x.shape()[axes[i]];
            if (steps[i] > 0) {
                lo[i] = (int) clampIndex(s[i], dim);
                hi[i] = (int) clampIndex(e[i], dim);
            } else {
                lo[i] = (int) Math.max(-1, Math.min(dim - 1, s[i] < 0 ? s[i] + dim : s[i]));
                hi[i] = (int) Math.max(-1, Math.min(dim - 1, e[i] < 0 ? e[i] + dim : e[i]));
            }
        }
        return Arr.slice(x, lo, hi, axes, steps);
    }

    /** ScatterND with reduction none: a copy of data with the slices the index tuples name replaced. */
    private Arr scatterNd(Arr data, Arr indices, Arr updates) {
        String red = n.attrString("reduction", "none");
        if (!red.equals("none")) throw new Unsupported("ScatterND (reduction " + red + ", constant folding)", null);
        int q = indices.rank(), r = data.rank();
        if (q < 1) throw n.error("the indices must have rank 1 or more");
        int k = indices.shape()[q - 1];
        if (k > r) throw n.error("index tuples of " + k + " values address a tensor of rank " + r);
        int tuples = indices.v().length / Math.max(1, k), block = 1;
        for (int i = k; i < r; i++) block *= data.shape()[i];
        if (updates.v().length != tuples * block)
            throw n.error("the updates have " + updates.v().length + " values where " + tuples * block
                    + " are needed");
        int[] st = Arr.strides(data.shape());
        double[] out = data.v().clone();
        for (int t = 0; t < tuples; t++) {
            int off = 0;
            for (int j = 0; j < k; j++) {
                long ix = (long) indices.v()[t * k + j];
                int dim = data.shape()[j];
                if (ix < 0) ix += dim;
                if (ix < 0 || ix >= dim) throw n.error("index " + (long) indices.v()[t * k + j]
                        + " is out of range for axis " + j + " of size " + dim);
                off += (int) ix * st[j];
            }
            System.arraycopy(updates.v(), t * block, out, off, block);
        }
        return new Arr(data.shape(), out);
    }

    private Arr range() {
        double start = single(0, "start"), limit = single(1, "limit"), delta = single(2, "delta");
        if (delta == 0) throw n.error("the delta of a Range must not be 0");
        double count = Math.max(0, Math.ceil((limit - start) / delta));
        if (count > Arr.MAX_FOLD) throw n.error("a range of " + (long) count + " values is too large to fold");
        double[] v = new double[(int) count];
        for (int i = 0; i < v.length; i++) v[i] = start + i * delta;
        return Arr.vector(v);
    }

    /** Flatten's axis, which may also be the rank (everything in the first dimension). */
    static int flattenAxis(OnnxNode n, int rank) {
        long axis = n.attrInt("axis", 1);
        if (axis < -rank || axis > rank)
            throw n.error("the axis " + axis + " is out of range for a tensor of rank " + rank);
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /** Transpose's perm (reversed axes when absent), checked to be a permutation of the axes. */
    static int[] permutation(OnnxNode n, int rank) {
        long[] p = n.attrInts("perm");
        int[] perm = new int[rank];
        if (p != null && p.length != rank)
            throw n.error("perm has " + p.length + " values for a tensor of rank " + rank);
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = p == null ? rank - 1 - i : n.axis(p[i], rank, "perm entry");
            if (seen[perm[i]]) throw n.error("perm " + Arrays.toString(p) + " is not a permutation of the axes");
            seen[perm[i]] = true;
        }
        return perm;
    }

    /** Unsqueeze's output dimensions. */
    static int[] unsqueezed(OnnxNode n, int[] d, long[] axes) {
        if (axes == null) throw n.error("Unsqueeze needs axes");
        int r = d.length + axes.length;
        boolean[] ins = new boolean[r];
        for (long a : axes) {
            int ax = n.axis(a, r, "axis");
            if (ins[ax]) throw n.error("the axis " + a + " is given twice");
            ins[ax] = true;
        }
        int[] out = new int[r];
        for (int i = 0, j = 0; i < r; i++) out[i] = ins[i] ? 1 : d[j++];
        return out;
    }

    /** Squeeze's output dimensions: the given axes, which must be 1, or every axis of size 1. */
    static int[] squeezed(OnnxNode n, int[] d, long[] axes) {
        Set<Integer> drop = new HashSet<>();
        if (axes == null || axes.length == 0) {
            for (int i = 0; i < d.length; i++) if (d[i] == 1) drop.add(i);
        } else for (long a : axes) {
            int ax = n.axis(a, d.length, "axis");
            if (d[ax] != 1) throw n.error("cannot squeeze axis " + a + " of a tensor of rank " + d.length
                    + ": its size is not 1");
            drop.add(ax);
        }
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < d.length; i++) if (!drop.contains(i)) out.add(d[i]);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}

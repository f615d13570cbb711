package memplan.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleBinaryOperator;

/**
 * A small constant tensor (shape + row-major values) for constant folding of the shape computations exporters
 * leave in graphs: Shape -> Gather -> Unsqueeze -> Concat -> Reshape and the like.
 */
record Arr(int[] shape, double[] v) {
    static Arr scalar(double x) {
        return new Arr(new int[0], new double[]{x});
    }

    static Arr vector(double... xs) {
        return new Arr(new int[]{xs.length}, xs);
    }

    int rank() {
        return shape.length;
    }

    long[] longs() {
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (long) v[i];
        return out;
    }

    static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /**
     * The most elements a folded constant may have: more than a file's decoded tensors (OnnxTensor.MAX_DECODE),
     * since exporters build masks from small constants (Swin-T's shifted-window mask at 224 px is [64, 49, 49]).
     */
    static final long MAX_FOLD = 1 << 20;

    /** Element count; folding never builds a constant larger than MAX_FOLD elements. */
    static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
            if (n > MAX_FOLD)
                throw new IllegalArgumentException("constant of shape " + Arrays.toString(shape)
                        + " is too large to fold");
        }
        return (int) n;
    }

    static int[] broadcastShape(int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] d = new int[r];
        for (int i = 0; i < r; i++) {
            int x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            int y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (x != y && x != 1 && y != 1)
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " do not broadcast");
            d[i] = x == 1 ? y : x;
        }
        return d;
    }

    /** The multi-index of flat element {@code flat} of a tensor of shape {@code shape}. */
    static int[] unravel(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            idx[i] = shape[i] == 0 ? 0 : flat % shape[i];
            flat = shape[i] == 0 ? 0 : flat / shape[i];
        }
        return idx;
    }

    /**
     * For each element of a tensor of shape {@code out}, the flat index of the element of shape {@code s} it reads
     * under broadcasting. Walked as an odometer: folding Swin's masks visits 10^5 elements per op, several hundred
     * times per model, so no per-element index arrays.
     */
    private static int[] broadcastMap(int[] s, int[] out) {
        int n = numel(out);
        int[] map = new int[n];
        if (Arrays.equals(s, out)) {
            for (int i = 0; i < n; i++) map[i] = i;
            return map;
        }
        int r = out.length, off = r - s.length;
        int[] ss = strides(s), st = new int[r];
        for (int i = 0; i < s.length; i++) st[i + off] = s[i] == 1 ? 0 : ss[i];
        return walk(out, st, 0);
    }

    /** The flat source index of each element of shape out, reading axis d with stride st[d] from base. */
    private static int[] walk(int[] out, int[] st, int base) {
        int n = numel(out), r = out.length;
        int[] map = new int[n], idx = new int[r];
        int k = base;
        for (int i = 0; i < n; i++) {
            map[i] = k;
            for (int d = r - 1; d >= 0; d--) { // next output position, last axis fastest
                k += st[d];
                if (++idx[d] < out[d]) break;
                k -= st[d] * out[d];
                idx[d] = 0;
            }
        }
        return map;
    }

    static Arr binary(Arr a, Arr b, DoubleBinaryOperator f) {
        int[] s = broadcastShape(a.shape, b.shape);
        double[] out = new double[numel(s)];
        int[] ma = broadcastMap(a.shape, s), mb = broadcastMap(b.shape, s);
        for (int i = 0; i < out.length; i++) out[i] = f.applyAsDouble(a.v[ma[i]], b.v[mb[i]]);
        return new Arr(s, out);
    }

    static Arr where(Arr c, Arr a, Arr b) {
        int[] s = broadcastShape(c.shape, broadcastShape(a.shape, b.shape));
        double[] out = new double[numel(s)];
        int[] mc = broadcastMap(c.shape, s), ma = broadcastMap(a.shape, s), mb = broadcastMap(b.shape, s);
        for (int i = 0; i < out.length; i++) out[i] = c.v[mc[i]] != 0 ? a.v[ma[i]] : b.v[mb[i]];
        return new Arr(s, out);
    }

    static Arr expand(Arr a, int[] target) {
        return binary(a, new Arr(target, new double[numel(target)]), (x, y) -> x);
    }

    Arr reshape(int[] s) {
        if (numel(s) != v.length)
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to "
                    + Arrays.toString(s));
        return new Arr(s, v);
    }

    static Arr gather(Arr data, Arr indices, int axis) {
        int[] ds = data.shape;
        int outer = numel(Arrays.copyOfRange(ds, 0, axis)), inner = numel(Arrays.copyOfRange(ds, axis + 1, ds.length));
        int n = ds[axis];
        int[] s = new int[ds.length - 1 + indices.rank()];
        System.arraycopy(ds, 0, s, 0, axis);
        System.arraycopy(indices.shape, 0, s, axis, indices.rank());
        System.arraycopy(ds, axis + 1, s, axis + indices.rank(), ds.length - axis - 1);
        double[] out = new double[numel(s)];
        int k = 0;
        for (int o = 0; o < outer; o++)
            for (double idxD : indices.v) {
                int idx = (int) idxD;
                if (idx < 0) idx += n;
                if (idx < 0 || idx >= n)
                    throw new IllegalArgumentException("index " + (long) idxD + " is out of range for " + n);
                for (int i = 0; i < inner; i++) out[k++] = data.v[(o * n + idx) * inner + i];
            }
        return new Arr(s, out);
    }

    static Arr concat(List<Arr> parts, int axis) {
        int[] s = parts.get(0).shape.clone();
        int total = 0;
        for (Arr p : parts) {
            if (p.rank() != s.length) throw new IllegalArgumentException("ranks differ");
            total += p.shape[axis];
        }
        s[axis] = total;
        int outer = numel(Arrays.copyOfRange(s, 0, axis)), inner = numel(Arrays.copyOfRange(s, axis + 1, s.length));
        double[] out = new double[numel(s)];
        int k = 0;
        for (int o = 0; o < outer; o++)
            for (Arr p : parts) {
                int len = p.shape[axis] * inner;
                System.arraycopy(p.v, o * len, out, k, len);
                k += len;
            }
        return new Arr(s, out);
    }

    static Arr transpose(Arr a, int[] perm) {
        int[] s = new int[perm.length];
        for (int i = 0; i < perm.length; i++) s[i] = a.shape[perm[i]];
        int[] st = strides(a.shape), ps = new int[perm.length];
        for (int j = 0; j < perm.length; j++) ps[j] = st[perm[j]];
        int[] map = walk(s, ps, 0);
        double[] out = new double[a.v.length];
        for (int i = 0; i < out.length; i++) out[i] = a.v[map[i]];
        return new Arr(s, out);
    }

    /** Each axis repeated reps[i] times. */
    static Arr tile(Arr a, int[] reps) {
        int[] s = new int[a.rank()];
        for (int i = 0; i < s.length; i++) s[i] = a.shape[i] * reps[i];
        double[] out = new double[numel(s)];
        int[] st = strides(a.shape);
        for (int i = 0; i < out.length; i++) {
            int[] idx = unravel(i, s);
            int k = 0;
            for (int j = 0; j < idx.length; j++) k += (idx[j] % a.shape[j]) * st[j];
            out[i] = a.v[k];
        }
        return new Arr(s, out);
    }

    /** Running sums along an axis (ONNX CumSum's exclusive and reverse flags). */
    static Arr cumsum(Arr a, int axis, boolean exclusive, boolean reverse) {
        int n = a.shape[axis];
        int inner = numel(Arrays.copyOfRange(a.shape, axis + 1, a.rank()));
        int outer = a.v.length / Math.max(1, n * inner);
        double[] out = new double[a.v.length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                double acc = 0;
                for (int t = 0; t < n; t++) {
                    int j = reverse ? n - 1 - t : t;
                    int at = (o * n + j) * inner + i;
                    if (exclusive) {
                        out[at] = acc;
                        acc += a.v[at];
                    } else {
                        acc += a.v[at];
                        out[at] = acc;
                    }
                }
            }
        return new Arr(a.shape, out);
    }

    /** General strided slice; starts/ends already clamped per ONNX rules. */
    static Arr slice(Arr a, int[] starts, int[] ends, int[] axes, int[] steps) {
        int[] lo = new int[a.rank()], st = new int[a.rank()], s = a.shape.clone();
        Arrays.fill(st, 1);
        for (int i = 0; i < axes.length; i++) {
            int ax = axes[i];
            lo[ax] = starts[i];
            st[ax] = steps[i];
            int n = steps[i] > 0 ? (ends[i] - starts[i] + steps[i] - 1) / steps[i]
                    : (starts[i] - ends[i] - steps[i] - 1) / -steps[i];
            s[ax] = Math.max(0, n);
        }
        int[] str = strides(a.shape), step = new int[a.rank()];
        int base = 0;
        for (int j = 0; j < a.rank(); j++) {
            base += lo[j] * str[j];
            step[j] = st[j] * str[j];
        }
        double[] out = new double[numel(s)];
        if (out.length == 0) return new Arr(s, out);
        int[] map = walk(s, step, base);
        for (int i = 0; i < out.length; i++) out[i] = a.v[map[i]];
        return new Arr(s, out);
    }
}

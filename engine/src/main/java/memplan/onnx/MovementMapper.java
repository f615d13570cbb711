package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ir.DType;
import memplan.ops.Concat;
import memplan.ops.Flip;
import memplan.ops.Fill;
import memplan.ops.ScatterND;
import memplan.ops.Pad;
import memplan.ops.Slice;
import memplan.ops.Split;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Movement that copies: Concat, Split, Slice (one Slice op per axis; a negative step as a crop and one Flip of the
 * reversed axes; a step above 1 as a view that splits the
 * axis into [count, step] and a Slice of the first of each step) and Pad.
 */
final class MovementMapper implements OpMapper {
    private final Converter cv;

    MovementMapper(Converter cv) {
        this.cv = cv;
    }

    @Override
    public List<Signature> handles() {
        return List.of(Signature.variadic("Concat", 1), Signature.of("Split", 1, 2), Signature.of("Slice", 1, 5),
                Signature.of("Pad", 1, 4), Signature.of("Tile", 2, 2), Signature.of("ScatterND", 3, 3));
    }

    @Override
    public void convert(OnnxNode n) {
        switch (n.type()) {
            case "Concat" -> concat(n);
            case "Split" -> split(n);
            case "Slice" -> slice(n);
            case "Tile" -> tile(n);
            case "ScatterND" -> scatterNd(n);
            default -> pad(n);
        }
    }

    /**
     * ScatterND with computed data or updates (reduction none or add). A constant operand becomes a Fill of its
     * shape (one value; the values of constant indices are not kept: every tuple is 0 on the CPU backend, the same
     * memory), so the op always reads three tensors.
     */
    private void scatterNd(OnnxNode n) {
        String red = n.attrString("reduction", "none");
        if (!red.equals("none") && !red.equals("add"))
            throw new Unsupported("ScatterND (reduction " + red + ")", "only reductions none and add are modelled");
        List<Val> ins = new ArrayList<>();
        String[] what = {"data", "indices", "updates"};
        checkScatterIndices(n, n.required(0, what[0]), n.required(1, what[1]));
        for (int k = 0; k < 3; k++) {
            Val v = n.required(k, what[k]);
            if (v.isConst()) {
                if (k != 1 && !v.c.floating) throw new Unsupported("ScatterND (integer data)", null);
                List<String> dims = Arrays.stream(v.c.shape).mapToObj(Integer::toString).toList();
                Double one = v.c.numel() == 1 ? cv.constScalar(n.inputName(k)) : null;
                v = cv.emit(n.hint() + "/" + what[k], new Fill(dims, k == 1 || one == null ? 0 : one,
                        k == 1 ? DType.INT64 : null), List.of()).get(0);
            } else if (k == 1 && (v.dtype == null || v.dtype.floating)) throw n.error("the indices must be integers");
            ins.add(v);
        }
        n.put(0, n.emit(new ScatterND(red.equals("add")), ins));
    }

    /**
     * Constant index tuples are checked against the data's axes here, since their values are not kept: ONNX makes
     * an index outside [-size, size) an error, and the CPU backend would otherwise scatter to the wrong place.
     * Axes whose size depends on the batch are not checked.
     */
    private static void checkScatterIndices(OnnxNode n, Val data, Val indices) {
        if (!indices.isConst() || indices.c.shape.length == 0) return;
        Arr idx = indices.c.lane(0);
        if (idx == null) return;
        int q = indices.c.shape[indices.c.shape.length - 1];
        int[] d0 = data.isAct() ? data.shape[0].dims() : data.c.shape;
        int[] d1 = data.isAct() ? data.shape[1].dims() : data.c.shape;
        if (q > d0.length) throw n.error("the index tuples have " + q + " entries but the data has rank " + d0.length);
        if (q == 0) return;
        for (int t = 0; t < idx.v().length / q; t++)
            for (int j = 0; j < q; j++) {
                double i = idx.v()[t * q + j];
                if (d0[j] != d1[j]) continue;
                if (i < -d0[j] || i >= d0[j])
                    throw n.error("index tuple " + t + " has " + (long) i + " for axis " + j
                            + ", outside the data's size " + d0[j] + " there");
            }
    }

    private static void concat(OnnxNode n) {
        List<Val> ins = new ArrayList<>();
        for (int k = 0; k < n.proto.getInputCount(); k++) {
            Val v = n.in(k);
            if (v == null) continue;
            if (!v.isAct()) {
                if (v.c.numel() == 0) continue; // an empty constant adds nothing
                throw new Unsupported("Concat (constant and tensor)", "input " + k + " is a constant");
            }
            ins.add(v);
        }
        if (ins.isEmpty()) throw n.error("has no tensor input");
        int axis = n.axis(n.attrInt("axis", 0), ins.get(0).rank(), "axis");
        if (ins.size() == 1) {
            n.put(0, ins.get(0));
            return;
        }
        n.put(0, n.emit(new Concat(axis), ins));
    }

    /** Tile of a tensor: a Concat of copies per repeated axis (PyTorch's repeat: one new tensor, no saved input). */
    private void tile(OnnxNode n) {
        Val x = n.act(0);
        long[] reps = n.requiredInts(1, "repeats");
        n.length(reps, x.rank(), "repeats");
        Val y = x;
        for (int ax = 0; ax < reps.length; ax++) {
            if (reps[ax] == 1) continue;
            if (reps[ax] < 1) throw n.error("repeats must be at least 1, got " + reps[ax]);
            if (reps[ax] > 4096) throw new Unsupported("Tile (more than 4096 repeats)", null);
            List<Val> copies = new ArrayList<>();
            for (long r = 0; r < reps[ax]; r++) copies.add(y);
            y = cv.emit(n.hint() + (reps.length > 1 ? "/" + ax : ""), new Concat(ax), copies).get(0);
        }
        n.put(0, y);
    }

    private void split(OnnxNode n) {
        Val x = n.act(0);
        int ax = n.axis(n.attrInt("axis", 0), x.rank(), "axis");
        long[] sizes = n.opset() < 13 ? n.attrInts("split") : n.ints(1, "split sizes");
        int parts = n.outputCount();
        int dim = x.shape[0].dim(ax);
        if (x.shape[1].dim(ax) != dim)
            throw new Unsupported("Split (batch axis)", "splitting the batch axis is not supported");
        List<Integer> sz = new ArrayList<>();
        if (sizes != null && sizes.length > 0) {
            if (sizes.length != parts)
                throw n.error("gives " + sizes.length + " split sizes for " + parts + " outputs");
            for (int s : n.smallInts(sizes, "split size")) {
                if (s < 0) throw n.error("split sizes must not be negative, got " + Arrays.toString(sizes));
                sz.add(s);
            }
        } else {
            int each = (dim + parts - 1) / parts; // opset 18 num_outputs: the last part may be smaller
            for (int i = 0; i < parts; i++) sz.add(Math.max(0, Math.min(each, dim - each * i)));
        }
        List<Val> outs = cv.emit(n.hint(), new Split(ax, sz), List.of(x));
        for (int k = 0; k < outs.size(); k++) n.put(k, outs.get(k));
    }

    private void slice(OnnxNode n) {
        Val x = n.act(0);
        int r = x.rank();
        FoldRules.SliceArgs[] args = {FoldRules.sliceArgs(n, 0), FoldRules.sliceArgs(n, 1)};
        int m = args[0].starts().length;
        if (args[1].starts().length != m) throw n.error("the number of sliced axes depends on the batch size");
        int[][] lo = new int[Converter.LANES][m], hi = new int[Converter.LANES][m];
        int[] axes = new int[m], steps = new int[m];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            long[] s = args[lane].starts(), e = args[lane].ends(), a = args[lane].axes(), st = args[lane].steps();
            for (int i = 0; i < m; i++) {
                int ax = n.axis(a == null ? i : a[i], r, "axis");
                if (st != null && st[i] == 0) throw n.error("a slice step must not be 0");
                if (st != null && Math.abs(st[i]) > 4096) throw new Unsupported("Slice (step above 4096)", null);
                steps[i] = st == null ? 1 : (int) st[i];
                int dim = x.shape[lane].dim(ax);
                axes[i] = ax;
                if (steps[i] > 0) {
                    lo[lane][i] = (int) FoldRules.clampIndex(s[i], dim);
                    hi[lane][i] = (int) FoldRules.clampIndex(e[i], dim);
                } else { // the kept range [lo, hi) in forward order, from start down to past end (ONNX's clamping)
                    long start = Math.max(0, Math.min(dim - 1, s[i] < 0 ? s[i] + dim : s[i]));
                    long end = Math.max(-1, Math.min(dim - 1, e[i] < 0 ? e[i] + dim : e[i]));
                    long count = start > end ? (start - end - 1) / -steps[i] + 1 : 0;
                    hi[lane][i] = (int) start + 1;
                    lo[lane][i] = (int) (count == 0 ? start + 1 : start - (count - 1) * -steps[i]);
                }
            }
        }
        Val y = x;
        List<Integer> flips = new ArrayList<>();
        for (int i = 0; i < m; i++) {
            boolean full0 = lo[0][i] == 0 && hi[0][i] == x.shape[0].dim(axes[i]);
            boolean full1 = lo[1][i] == 0 && hi[1][i] == x.shape[1].dim(axes[i]);
            if (steps[i] < 0) flips.add(axes[i]);
            if (full0 && full1 && Math.abs(steps[i]) == 1) continue;
            if (lo[0][i] != lo[1][i] || hi[0][i] != hi[1][i])
                throw n.error("the slice of axis " + axes[i] + " depends on the batch size");
            if (lo[0][i] >= hi[0][i])
                throw n.error("the slice of axis " + axes[i] + " is empty (from " + lo[0][i] + " to " + hi[0][i]
                        + "); MemPlan cannot model an empty tensor");
            String hint = n.hint() + (m > 1 ? "/" + axes[i] : "");
            int step = Math.abs(steps[i]); // x[start:end:-s] is flip(x[lo:start + 1:s])
            y = step == 1 ? cv.emit(hint, new Slice(axes[i], lo[0][i], hi[0][i]), List.of(y)).get(0)
                    : strided(n, hint, y, axes[i], lo[0][i], hi[0][i], step);
        }
        if (!flips.isEmpty()) // a copy, as PyTorch's flip
            y = cv.emit(y == x ? n.hint() : n.hint() + "/flip", new Flip(flips), List.of(y)).get(0);
        n.put(0, y);
    }

    /**
     * x[lo:hi:step] on one axis (PatchMerging's x[..., 0::2, 1::2, :]): crop to a window of step·count elements
     * that holds the kept ones at one offset r of each step (r > 0 when the last stride would run past the end),
     * view the axis as [count, step], keep index r of the step axis and view it away. The copy holds the count
     * elements PyTorch's strided view reads when the next op gathers it; the axis must not depend on the batch.
     */
    private Val strided(OnnxNode n, String hint, Val x, int ax, int lo, int hi, int step) {
        int dim = x.shape[0].dim(ax);
        if (x.shape[1].dim(ax) != dim) throw new Unsupported("Slice (step " + step + " on the batch axis)", null);
        int count = (hi - lo + step - 1) / step;
        if ((long) step * count > dim)
            throw new Unsupported("Slice (step " + step + ")", "a step whose strides do not fit in the axis "
                    + "is not supported");
        int r = Math.max(0, lo + step * count - dim), begin = lo - r;
        Val y = x;
        if (begin != 0 || begin + step * count != dim)
            y = cv.emit(hint + "/crop", new Slice(ax, begin, begin + step * count), List.of(y)).get(0);
        long[][] split = new long[Converter.LANES][], kept = new long[Converter.LANES][];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            int[] d = y.shape[lane].dims();
            split[lane] = new long[d.length + 1];
            kept[lane] = new long[d.length];
            for (int k = 0, j = 0; k < d.length; k++) {
                kept[lane][k] = k == ax ? count : d[k];
                if (k == ax) {
                    split[lane][j++] = count;
                    split[lane][j++] = step;
                } else split[lane][j++] = d[k];
            }
        }
        y = cv.reshapeTo(hint + "/split", y, split);
        y = cv.emit(hint, new Slice(ax + 1, r, r + 1), List.of(y)).get(0);
        return cv.reshapeTo(hint + "/merge", y, kept);
    }

    private static void pad(OnnxNode n) {
        Val x = n.act(0);
        // an attribute before opset 11 ("paddings" in opset 1), an input from 11 on
        long[] pads = n.opset() >= 11 ? n.requiredInts(1, "pads")
                : n.attr("pads") != null ? n.attrInts("pads") : n.attrInts("paddings");
        if (pads == null) throw n.error("attribute 'pads' is missing");
        String mode = n.attrString("mode", "constant");
        if (!List.of("constant", "reflect", "edge", "wrap").contains(mode))
            throw new Unsupported("Pad (mode " + mode + ")", null);
        int r = x.rank();
        long[] axes = n.ints(3, "axes");
        int[] full = new int[2 * r];
        if (axes != null) {
            n.length(pads, 2 * axes.length, "pads");
            for (int i = 0; i < axes.length; i++) {
                int ax = n.axis(axes[i], r, "axis");
                full[ax] = (int) pads[i];
                full[ax + r] = (int) pads[i + axes.length];
            }
        } else {
            if (pads.length != 2 * r) throw n.error("needs " + 2 * r + " pads, got " + pads.length);
            full = n.smallInts(pads, "pad");
        }
        if (Arrays.stream(full).allMatch(v -> v == 0)) {
            n.put(0, x);
            return;
        }
        n.put(0, n.emit(new Pad(Arrays.stream(full).boxed().toList(), mode), List.of(x)));
    }
}

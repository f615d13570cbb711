package memplan.onnx;

import memplan.ir.Shape;
import memplan.onnx.OpMapper.Signature;
import memplan.onnx.proto.Onnx.NodeProto;
import memplan.ops.Add;
import memplan.ops.Concat;
import memplan.ops.Fill;
import memplan.ops.Flatten;
import memplan.ops.Transpose;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Views and layout changes: Flatten, Reshape, Squeeze and Unsqueeze (all one batch-independent Reshape), Expand (a
 * view in PyTorch) and Transpose, which MatMul may read directly as its transposed second operand.
 */
final class ViewMapper implements OpMapper {
    private final Converter cv;

    ViewMapper(Converter cv) {
        this.cv = cv;
    }

    @Override
    public List<Signature> handles() {
        return List.of(Signature.of("Flatten", 1, 1), Signature.of("Reshape", 2, 2), Signature.of("Transpose", 1, 1),
                Signature.of("Squeeze", 1, 2), Signature.of("Unsqueeze", 1, 2), Signature.of("Expand", 2, 2));
    }

    @Override
    public void convert(OnnxNode n) {
        switch (n.type()) {
            case "Flatten" -> flatten(n);
            case "Reshape" -> reshape(n);
            case "Transpose" -> transpose(n);
            case "Expand" -> expand(n);
            default -> squeeze(n);
        }
    }

    /** Readers that broadcast their operands, so they can read an Expand's input instead of its result. */
    private static final Set<String> BROADCASTING = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Where", "Equal",
            "Less", "Greater", "Max", "Min", "And", "Or");

    /**
     * Expand of a tensor is a view in PyTorch. When every reader broadcasts, it is passed through (the reader
     * broadcasts). Otherwise the expanded tensor is made, as PyTorch's reader copies it: copies concatenated along
     * axes of a fixed size, a broadcast Add to a Fill where the batch is expanded.
     */
    private void expand(OnnxNode n) {
        Val x = n.act(0);
        Val.Const spec = n.cst(1, "shape");
        boolean allBroadcast = !cv.isGraphOutput(n.output(0)) && cv.isConsumed(n.output(0));
        for (NodeProto c : cv.consumersOf(n.output(0))) allBroadcast &= BROADCASTING.contains(c.getOpType());
        int[][] t = new int[Converter.LANES][];
        String[] failed = new String[Converter.LANES];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            int[] target = n.smallInts(n.values(spec, lane, "shape").longs(), "target dimension");
            try {
                t[lane] = Arr.broadcastShape(x.shape[lane].dims(), target);
            } catch (IllegalArgumentException e) {
                failed[lane] = e.getMessage();
            }
        }
        if (failed[0] != null || failed[1] != null) throw n.error(Converter.inWords(failed[0], failed[1]));
        if (allBroadcast || Arrays.equals(t[0], x.shape[0].dims()) && Arrays.equals(t[1], x.shape[1].dims())) {
            n.put(0, x);
            return;
        }
        int r = t[0].length;
        long[][] lifted = new long[Converter.LANES][r];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            Arrays.fill(lifted[lane], 1);
            for (int i = 0; i < x.rank(); i++) lifted[lane][r - x.rank() + i] = x.shape[lane].dim(i);
        }
        Val y = cv.reshapeTo(n.hint() + "/unsqueeze", x, lifted);
        boolean fixed = true;
        for (int i = 0; i < r; i++)
            fixed &= y.shape[0].dim(i) == t[0][i] && y.shape[1].dim(i) == t[1][i]
                    || t[0][i] == t[1][i] && y.shape[0].dim(i) == 1 && y.shape[1].dim(i) == 1 && t[0][i] <= 4096;
        if (fixed) {
            for (int ax = 0; ax < r; ax++) {
                if (y.shape[0].dim(ax) == t[0][ax]) continue;
                List<Val> copies = new ArrayList<>();
                for (int k = 0; k < t[0][ax]; k++) copies.add(y);
                y = cv.emit(n.hint() + "/" + ax, new Concat(ax), copies).get(0);
            }
            n.put(0, y);
            return;
        }
        List<String> dims = BatchDims.modelDims(t[0], t[1]);
        if (dims == null)
            throw n.error("expands to " + BatchDims.describe(t[0], t[1]) + ", which depends on the batch size in a "
                    + "way MemPlan cannot size");
        Val zeros = cv.emit(n.hint() + "/fill", new Fill(dims, 0, x.dtype), List.of()).get(0);
        n.put(0, cv.emit(n.hint(), new Add(), List.of(y, zeros)).get(0));
    }

    private void flatten(OnnxNode n) {
        Val x = n.act(0);
        int axis = FoldRules.flattenAxis(n, x.rank());
        if (axis == 1 && x.rank() >= 2) {
            n.put(0, n.emit(new Flatten(1), List.of(x)));
            return;
        }
        long[][] t = new long[Converter.LANES][];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            Shape s = x.shape[lane];
            t[lane] = new long[]{s.numel(0, axis), s.numel(axis, s.rank())};
        }
        n.put(0, cv.reshapeTo(n.hint(), x, t));
    }

    private void reshape(OnnxNode n) {
        Val x = n.act(0);
        Val.Const spec = n.cst(1, "shape");
        boolean allowZero = n.attrInt("allowzero", 0) != 0;
        boolean batchVaries = x.shape[0].dim(0) != x.shape[1].dim(0);
        long[][] t = new long[Converter.LANES][], sps = new long[Converter.LANES][];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            long[] sp = n.values(spec, lane, "target shape").longs();
            sps[lane] = sp.clone();
            t[lane] = resolveReshape(x.shape[lane], sp, allowZero);
            if (t[lane] == null && cv.fileBatch > 0 && sp.length > 0 && sp[0] == cv.fileBatch && batchVaries) {
                sp[0] = 0; // exported with a fixed batch baked into the target: follow the input's batch instead
                t[lane] = resolveReshape(x.shape[lane], sp, allowZero);
            }
        }
        if (t[0] == null || t[1] == null)
            throw n.error("cannot reshape " + BatchDims.describe(x.shape) + " to "
                    + BatchDims.describe(sps[0], sps[1]) + (t[0] == null && t[1] == null ? ""
                    : " at every batch size") + (batchVaries ? " (does the target shape fix the batch size?)" : ""));
        n.put(0, cv.reshapeTo(n.hint(), x, t));
    }

    /** A Reshape target with 0 (copy) and -1 (infer) resolved against x, or null when it does not fit. */
    static long[] resolveReshape(Shape x, long[] spec, boolean allowZero) {
        long[] t = spec.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < t.length; i++) {
            if (t[i] == 0 && !allowZero) {
                if (i >= x.rank()) return null;
                t[i] = x.dim(i);
            }
            if (t[i] == -1) {
                if (infer >= 0) return null;
                infer = i;
            } else if (t[i] < 0 || t[i] > Integer.MAX_VALUE) return null;
            else known *= t[i];
        }
        if (infer >= 0) {
            if (known == 0 || x.numel() % known != 0) return null;
            t[infer] = x.numel() / known;
        } else if (known != x.numel()) return null;
        return t;
    }

    private void transpose(OnnxNode n) {
        Val x = n.act(0);
        int r = x.rank();
        List<Integer> perm = new ArrayList<>();
        for (int p : FoldRules.permutation(n, r)) perm.add(p);
        boolean swapLast = r >= 2;
        for (int i = 0; i < r && swapLast; i++) swapLast = perm.get(i) == (i == r - 2 ? r - 1 : i == r - 1 ? r - 2 : i);
        NodeProto mm = cv.soleConsumer(n.output(0), "MatMul");
        if (swapLast && mm != null && mm.getInputCount() == 2 && mm.getInput(1).equals(n.output(0))
                && !mm.getInput(0).equals(n.output(0))) {
            // q @ k^T: MatMul reads the transpose directly (transposeB), as PyTorch does without a copy
            n.put(0, cv.pendingTranspose(n.hint(), x, perm));
            return;
        }
        n.put(0, n.emit(new Transpose(perm), List.of(x)));
    }

    private void squeeze(OnnxNode n) {
        Val x = n.act(0);
        boolean unsq = n.type().equals("Unsqueeze");
        long[] axes = n.opset() < 13 ? n.attrInts("axes") : n.ints(1, "axes");
        long[][] t = new long[Converter.LANES][];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            int[] d = x.shape[lane].dims();
            int[] out = unsq ? FoldRules.unsqueezed(n, d, axes) : FoldRules.squeezed(n, d, axes);
            t[lane] = Arrays.stream(out).asLongStream().toArray();
        }
        n.put(0, cv.reshapeTo(n.hint(), x, t));
    }
}

package memplan.cuda;

import memplan.backend.BackendException;
import memplan.backend.Bindings;
import memplan.graph.Node;
import memplan.ir.Shape;
import memplan.ops.Concat;
import memplan.ops.Flip;
import memplan.ops.Pad;
import memplan.ops.Resize;
import memplan.ops.Slice;
import memplan.ops.Split;
import memplan.ops.Transpose;

import static memplan.cuda.CudaOps.*;
import static memplan.cuda.Kernels.*;

/**
 * Data movement on the GPU (misc.cu): Concat, Slice and Split as strided row copies, Transpose (rank <= 6), Pad
 * (constant, reflect, edge, wrap; backward sums each input element's output positions in order, no atomics);
 * Resize and Flip (resize.cu).
 */
final class CudaMovementOps {
    private final KernelHost be;

    CudaMovementOps(KernelHost be) {
        this.be = be;
    }

    private Object p(long offset) {
        return be.dev(offset);
    }

    // ------------------------------------------------------------------ data movement

    private void copyRows(long src, long srcStride, long dst, long dstStride, long rows, long cols, boolean acc) {
        be.elementwise(COPY_ROWS, rows * cols, p(src), srcStride, p(dst), dstStride, rows, cols, flag(acc));
    }

    void concatFwd(Node node, Concat c, Bindings b) {
        Shape ys = node.outShapes().get(0);
        int ax = axis(c.axis(), ys.rank());
        long outer = ys.numel(0, ax), inner = ys.numel(ax + 1, ys.rank()), total = ys.dim(ax);
        long off = 0;
        for (int i = 0; i < node.inShapes().size(); i++) {
            long di = node.inShapes().get(i).dim(ax);
            copyRows(b.in()[i], di * inner, b.out()[0] + 4 * off * inner, total * inner, outer, di * inner, false);
            off += di;
        }
    }

    void concatBwd(Node node, Concat c, Bindings b) {
        Shape ys = node.outShapes().get(0);
        int ax = axis(c.axis(), ys.rank());
        long outer = ys.numel(0, ax), inner = ys.numel(ax + 1, ys.rank()), total = ys.dim(ax);
        long off = 0;
        for (int i = 0; i < node.inShapes().size(); i++) {
            long di = node.inShapes().get(i).dim(ax);
            if (b.gradIn()[i] >= 0)
                copyRows(b.gradOut()[0] + 4 * off * inner, total * inner, b.gradIn()[i], di * inner, outer, di * inner,
                        accIn(b, i));
            off += di;
        }
    }

    void sliceFwd(Node node, Slice s, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int ax = axis(s.axis(), xs.rank());
        long outer = xs.numel(0, ax), inner = xs.numel(ax + 1, xs.rank()), len = s.end() - s.start();
        copyRows(b.in()[0] + 4L * s.start() * inner, xs.dim(ax) * inner, b.out()[0], len * inner, outer, len * inner,
                false);
    }

    void sliceBwd(Node node, Slice s, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        Shape xs = node.inShapes().get(0);
        int ax = axis(s.axis(), xs.rank());
        long outer = xs.numel(0, ax), inner = xs.numel(ax + 1, xs.rank()), len = s.end() - s.start();
        boolean acc = accIn(b, 0);
        if (!acc) be.memsetZero(gx, 4 * xs.numel());
        copyRows(b.gradOut()[0], len * inner, gx + 4L * s.start() * inner, xs.dim(ax) * inner, outer, len * inner, acc);
    }

    private static long[] contiguousStrides(Shape s) {
        long[] st = new long[s.rank()];
        long acc = 1;
        for (int i = s.rank() - 1; i >= 0; i--) {
            st[i] = acc;
            acc *= s.dim(i);
        }
        return st;
    }

    /** dst (dims) gathers src with strides[k] along dst's dim k. */
    private void permute(long src, long dst, int[] dims, long[] strides, boolean acc, Node node) {
        if (dims.length > 6) throw new BackendException(node.name()
                + ": Transpose supports rank up to 6 on the CUDA backend");
        int[] d = new int[6];
        long[] s = new long[6];
        int pad = 6 - dims.length;
        for (int i = 0; i < 6; i++) {
            d[i] = i < pad ? 1 : dims[i - pad];
            s[i] = i < pad ? 0 : strides[i - pad];
        }
        long n = 1;
        for (int v : d) n *= v;
        be.elementwise(TRANSPOSE_ND, n, p(src), p(dst), n, d[0], d[1], d[2], d[3], d[4], d[5], s[0], s[1], s[2], s[3],
                s[4], s[5], flag(acc));
    }

    void transposeFwd(Node node, Transpose t, Bindings b) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        long[] xst = contiguousStrides(xs);
        long[] st = new long[ys.rank()];
        for (int k = 0; k < st.length; k++) st[k] = xst[t.perm().get(k)];
        permute(b.in()[0], b.out()[0], ys.dims(), st, false, node);
    }

    void transposeBwd(Node node, Transpose t, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        long[] yst = contiguousStrides(ys);
        long[] st = new long[xs.rank()];
        for (int k = 0; k < ys.rank(); k++) st[t.perm().get(k)] = yst[k];
        permute(b.gradOut()[0], b.gradIn()[0], xs.dims(), st, accIn(b, 0), node);
    }

    void splitFwd(Node node, Split sp, Bindings b) {
        Shape xs = node.inShapes().get(0);
        int ax = axis(sp.axis(), xs.rank());
        long outer = xs.numel(0, ax), inner = xs.numel(ax + 1, xs.rank()), xRow = xs.dim(ax) * inner, off = 0;
        for (int k = 0; k < sp.sizes().size(); k++) {
            long part = sp.sizes().get(k) * inner;
            copyRows(b.in()[0] + 4 * off, xRow, b.out()[k], part, outer, part, false);
            off += part;
        }
    }

    /** Each part's gradient into its place; a part without one is zero (unless accumulating). */
    void splitBwd(Node node, Split sp, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        Shape xs = node.inShapes().get(0);
        int ax = axis(sp.axis(), xs.rank());
        long outer = xs.numel(0, ax), inner = xs.numel(ax + 1, xs.rank()), xRow = xs.dim(ax) * inner, off = 0;
        boolean acc = accIn(b, 0);
        for (int k = 0; k < sp.sizes().size(); k++) {
            long part = sp.sizes().get(k) * inner, gy = b.gradOut()[k];
            if (gy >= 0) copyRows(gy, part, gx + 4 * off, xRow, outer, part, acc);
            else if (!acc) be.elementwise(ZERO_ROWS, outer * part, p(gx + 4 * off), xRow, outer, part);
            off += part;
        }
    }

    /** Pad modes of misc.cu (PAD_*); an unknown mode pads with zeros, as the CPU kernel. */
    static int padMode(String mode) {
        return switch (mode) {
            case "reflect" -> 1;
            case "edge" -> 2;
            case "wrap" -> 3;
            default -> 0;
        };
    }

    /** x dims, y dims and begin pads, each as 6 ints (leading dims of 1, pad 0). */
    private static Object[] padShapes(Node node, Pad pad) {
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        int r = xs.rank(), lead = Strided6.RANK - r;
        if (r > Strided6.RANK)
            throw new BackendException(node.name() + ": Pad supports rank up to " + Strided6.RANK
                    + " on the CUDA backend");
        Object[] a = new Object[3 * Strided6.RANK];
        for (int k = 0; k < Strided6.RANK; k++) {
            a[k] = k < lead ? 1 : xs.dim(k - lead);
            a[Strided6.RANK + k] = k < lead ? 1 : ys.dim(k - lead);
            a[2 * Strided6.RANK + k] = k < lead ? 0 : pad.pads().get(k - lead);
        }
        return a;
    }

    void padFwd(Node node, Pad pad, Bindings b) {
        long n = node.outShapes().get(0).numel();
        be.elementwise(PAD_FWD, n, join(new Object[]{p(b.in()[0]), p(b.out()[0]), n, padMode(pad.mode())},
                padShapes(node, pad)));
    }

    void padBwd(Node node, Pad pad, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        long n = node.inShapes().get(0).numel();
        be.elementwise(PAD_BWD, n, join(new Object[]{p(b.gradOut()[0]), p(gx), n, padMode(pad.mode()), flag(accIn(b,
                0))},
                padShapes(node, pad)));
    }

    // ------------------------------------------------------------------ Resize, Flip (resize.cu)

    /** NC, in and out sizes padded to three axes, mode, coordinates, rounding, scales (0: padded), a, exclude. */
    private static Object[] resizeArgs(Node node, Resize op) {
        Shape xs = node.inShapes().get(0);
        int sp = xs.rank() - 2, lead = 3 - sp;
        Object[] a = new Object[15];
        a[0] = xs.dim(0) * xs.dim(1);
        for (int k = 0; k < 3; k++) {
            int in = k < lead ? 1 : xs.dim(2 + k - lead), out = k < lead ? 1 : op.sizes().get(k - lead);
            a[1 + k] = in;
            a[4 + k] = out;
            a[10 + k] = k < lead ? 0.0 : op.scales().isEmpty() ? (double) out / in : op.scales().get(k - lead);
        }
        a[7] = Resize.MODES.indexOf(op.mode());
        a[8] = Resize.COORDINATES.indexOf(op.coordinates());
        a[9] = Resize.ROUNDINGS.indexOf(op.nearest());
        a[13] = op.cubicA();
        a[14] = flag(op.excludeOutside());
        return a;
    }

    void resizeFwd(Node node, Resize op, Bindings b) {
        be.elementwise(RESIZE_FWD, node.outShapes().get(0).numel(), join(new Object[]{p(b.in()[0]), p(b.out()[0])},
                resizeArgs(node, op)));
    }

    void resizeBwd(Node node, Resize op, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        be.elementwise(RESIZE_BWD, node.inShapes().get(0).numel(), join(join(new Object[]{p(b.gradOut()[0]), p(gx)},
                resizeArgs(node, op)), flag(accIn(b, 0))));
    }

    /** Flips float tensors of rank up to 6 (dims padded with leading 1s; mask bit k = padded dim k). */
    private void flip(Node node, Flip op, long src, long dst, boolean acc) {
        Shape xs = node.inShapes().get(0);
        int r = xs.rank(), lead = Strided6.RANK - r, mask = 0;
        if (r > Strided6.RANK)
            throw new BackendException(node.name() + ": Flip supports rank up to " + Strided6.RANK
                    + " on the CUDA backend");
        Object[] dims = new Object[Strided6.RANK];
        for (int k = 0; k < Strided6.RANK; k++) {
            dims[k] = k < lead ? 1 : xs.dim(k - lead);
            if (k >= lead && op.flips(k - lead, r)) mask |= 1 << k;
        }
        be.elementwise(FLIP_COPY, xs.numel(), join(new Object[]{p(src), p(dst), xs.numel(), flag(acc), mask}, dims));
    }

    void flipFwd(Node node, Flip op, Bindings b) {
        flip(node, op, b.in()[0], b.out()[0], false);
    }

    void flipBwd(Node node, Flip op, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        flip(node, op, b.gradOut()[0], b.gradIn()[0], accIn(b, 0));
    }
}

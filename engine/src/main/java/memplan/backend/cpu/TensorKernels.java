package memplan.backend.cpu;

import memplan.graph.Node;
import memplan.ir.Shape;
import memplan.ops.Concat;
import memplan.ops.Fill;
import memplan.ops.Op;
import memplan.ops.Pad;
import memplan.ops.Slice;
import memplan.ops.Split;
import memplan.ops.Transpose;

import java.util.Arrays;
import java.util.List;

/** Add, Mul, Concat, Slice, Transpose and the view ops. */
final class TensorKernels {
    private TensorKernels() {
    }

    /** Fill: every element the op's value, in the output's dtype (integers and bools as the value truncated). */
    static final class FillK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Fill f = (Fill) a.node().op();
            Buf y = a.out()[0];
            int n = y.numel();
            switch (y.dtype()) {
                case FP32 -> y.fill((float) f.value());
                case INT64 -> {
                    for (int i = 0; i < n; i++) y.setLong(i, (long) f.value());
                }
                case INT32 -> {
                    for (int i = 0; i < n; i++) y.setInt(i, (int) (long) f.value());
                }
                case BOOL -> {
                    for (int i = 0; i < n; i++) y.setByte(i, f.value() != 0 ? 1 : 0);
                }
                default -> throw new IllegalArgumentException("Fill: the CPU backend computes in fp32, got a "
                        + y.dtype() + " output");
            }
        }

        /** A constant: nothing flows back. */
        @Override
        public void backward(BackwardArgs a) {
        }
    }


    /** Concatenation along an axis: copies blocks; backward copies the blocks back. */
    static final class ConcatK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            List<Shape> ins = a.node().inShapes();
            for (int k = 0; k < ins.size(); k++) copy(a.node().op(), ins, k, a.in()[k], a.out()[0], true, false);
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gy = a.gradOut(0);
            List<Shape> ins = a.node().inShapes();
            for (int k = 0; k < ins.size(); k++) {
                Buf gx = a.gradIn(k);
                if (gx == null) continue;
                if (gy == null) {
                    if (!a.accIn(k)) K.zero(gx);
                } else copy(a.node().op(), ins, k, gx, gy, false, a.accIn(k));
            }
        }

        /** forward: y[block k] = x; backward: x (+)= y[block k]. */
        private static void copy(Op op, List<Shape> ins, int k, Buf x, Buf y, boolean forward, boolean acc) {
            Shape ys = y.shape();
            int axis = ((Concat) op).axis();
            int ax = axis < 0 ? ys.rank() + axis : axis;
            int outer = (int) ys.numel(0, ax), inner = (int) ys.numel(ax + 1, ys.rank());
            int yRow = ys.dim(ax) * inner;
            int off = 0;
            for (int j = 0; j < k; j++) off += ins.get(j).dim(ax) * inner;
            int xRow = ins.get(k).dim(ax) * inner;
            copyBlock(y, yRow, off, x, xRow, outer, forward, acc);
        }
    }

    /** Elements [start, end) of an axis, copied; backward scatters into zeros (or adds into the slice). */
    static final class SliceK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            copy((Slice) a.node().op(), a.in()[0], a.out()[0], true, false);
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gx = a.gradIn(0);
            if (gx == null) return;
            Buf gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            if (!acc) K.zero(gx);
            if (gy != null) copy((Slice) a.node().op(), gx, gy, false, true);
        }

        private static void copy(Slice sl, Buf x, Buf y, boolean forward, boolean acc) {
            Shape xs = x.shape();
            int ax = sl.axis() < 0 ? xs.rank() + sl.axis() : sl.axis();
            int outer = (int) xs.numel(0, ax), inner = (int) xs.numel(ax + 1, xs.rank());
            int xRow = xs.dim(ax) * inner, yRow = (sl.end() - sl.start()) * inner, off = sl.start() * inner;
            copyBlock(x, xRow, off, y, yRow, outer, !forward, acc);
        }
    }

    /** A materialised permutation of dimensions: y[i_0..] = x[i at perm]. Backward applies the inverse. */
    static final class TransposeK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            permute(((Transpose) a.node().op()).perm(), a.in()[0], a.out()[0], false, true);
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gx = a.gradIn(0);
            if (gx == null) return;
            Buf gy = a.gradOut(0);
            if (gy == null) {
                if (!a.accIn(0)) K.zero(gx);
                return;
            }
            // gx[x index] (+)= gy[y index]: the same walk over y, writing instead of reading x
            permute(((Transpose) a.node().op()).perm(), gx, gy, a.accIn(0), false);
        }

        /** Walks y in order; forward: y = x[src]; backward: x[src] (+)= y. Each x element maps to one y element. */
        private static void permute(List<Integer> perm, Buf x, Buf y, boolean acc, boolean forward) {
            int r = perm.size();
            int[] xd = x.shape().dims(), yd = y.shape().dims();
            long[] xStride = new long[r];
            long st = 1;
            for (int i = r - 1; i >= 0; i--) {
                xStride[i] = st;
                st *= xd[i];
            }
            int[] srcStride = new int[r]; // stride in x of y's dimension i
            for (int i = 0; i < r; i++) srcStride[i] = (int) xStride[perm.get(i)];
            int last = r == 0 ? 1 : yd[r - 1];
            int rows = last == 0 ? 0 : y.numel() / last;
            int lastStride = r == 0 ? 0 : srcStride[r - 1];
            float[] xa = x.data(), ya = y.data();
            int xo = x.offset(), yo = y.offset();
            Par.range(rows, Par.grain(rows, last), (s, e) -> {
                int[] idx = new int[Math.max(r - 1, 0)];
                for (int row = s; row < e; row++) {
                    int rem = row, src = 0;
                    for (int i = r - 2; i >= 0; i--) {
                        idx[i] = rem % yd[i];
                        rem /= yd[i];
                        src += idx[i] * srcStride[i];
                    }
                    int yb = yo + row * last;
                    if (forward) for (int j = 0; j < last; j++) ya[yb + j] = xa[xo + src + j * lastStride];
                    else if (!acc) for (int j = 0; j < last; j++) xa[xo + src + j * lastStride] = ya[yb + j];
                    else for (int j = 0; j < last; j++) xa[xo + src + j * lastStride] += ya[yb + j];
                }
            });
        }
    }

    /** Reshape and Flatten share their input's memory: the executor runs no kernel; calling one is an error. */
    static final class ViewK implements CpuKernel {
        private final String type;

        ViewK(String type) {
            this.type = type;
        }

        private static String name(Node n) {
            return n == null ? "?" : n.name();
        }

        @Override
        public void forward(ForwardArgs a) {
            throw new UnsupportedOperationException(type + " '" + name(a == null ? null
                    : a.node()) + "' is a view: it has no kernel, "
                    + "its output shares the input's memory");
        }

        @Override
        public void backward(BackwardArgs a) {
            throw new UnsupportedOperationException(type + " '" + name(a == null ? null
                    : a.node()) + "' is a view: its gradient is its "
                    + "output's gradient (same memory), there is no backward kernel");
        }
    }

    /** Output k = part k of the axis (a copy); backward writes each part's gradient (zero where absent). */
    static final class SplitK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Split op = (Split) a.node().op();
            Buf x = a.in()[0];
            for (int k = 0; k < op.sizes().size(); k++) copy(op, k, x, a.out()[k], true, false);
        }

        @Override
        public void backward(BackwardArgs a) {
            Split op = (Split) a.node().op();
            Buf gx = a.gradIn(0);
            if (gx == null) return;
            boolean acc = a.accIn(0);
            for (int k = 0; k < op.sizes().size(); k++) {
                Buf gy = a.gradOut(k);
                if (gy != null) copy(op, k, gx, gy, false, acc);
                else if (!acc) zeroPart(op, k, gx);
            }
        }

        private static int[] geo(Split op, int k, Shape xs) {
            int ax = op.axis() < 0 ? op.axis() + xs.rank() : op.axis();
            int outer = (int) xs.numel(0, ax), inner = (int) xs.numel(ax + 1, xs.rank());
            int off = 0;
            for (int j = 0; j < k; j++) off += op.sizes().get(j);
            return new int[]{outer, xs.dim(ax) * inner, op.sizes().get(k) * inner, off * inner};
        }

        private static void zeroPart(Split op, int k, Buf gx) {
            int[] g = geo(op, k, gx.shape());
            float[] d = gx.data();
            for (int o = 0; o < g[0]; o++) {
                int b = gx.offset() + o * g[1] + g[3];
                Arrays.fill(d, b, b + g[2], 0f);
            }
        }

        /** forward: y = x[part k]; backward: x[part k] (+)= y. */
        private static void copy(Split op, int k, Buf x, Buf y, boolean forward, boolean acc) {
            int[] g = geo(op, k, x.shape());
            copyBlock(x, g[1], g[3], y, g[2], g[0], !forward, acc);
        }
    }

    /**
     * Pads (or crops, with negative pads) every dimension. constant: zeros (the op has no fill value); reflect:
     * mirrored without repeating the edge (x[1], x[0] | x[0] ... ), repeated for pads wider than the dimension;
     * edge: the border value. Backward: each output element's gradient goes to the input element it was read from
     * (none for constant padding); with reflect/edge several outputs feed one input and are summed in output order
     * (in parallel over input elements).
     */
    static final class PadK implements CpuKernel {
        /** Input coordinate of output coordinate o along a dimension of size n with begin pad b; -1 = padding. */
        static int source(String mode, int o, int n, int b) {
            int c = o - b;
            if (c >= 0 && c < n) return c;
            return switch (mode) {
                case "edge" -> c < 0 ? 0 : n - 1;
                case "wrap" -> Math.floorMod(c, n);
                case "reflect" -> {
                    if (n == 1) yield 0;
                    int period = 2 * (n - 1);
                    int m = Math.floorMod(c, period);
                    yield m < n ? m : period - m;
                }
                default -> -1;
            };
        }

        /** Per dimension, the source coordinate of each output coordinate. */
        private static int[][] maps(Pad op, Shape xs, Shape ys) {
            int r = xs.rank();
            int[][] m = new int[r][];
            for (int d = 0; d < r; d++) {
                m[d] = new int[ys.dim(d)];
                for (int o = 0; o < ys.dim(d); o++) m[d][o] = source(op.mode(), o, xs.dim(d), op.pads().get(d));
            }
            return m;
        }

        /** Input index of output element i, or -1. */
        private static int src(int[][] maps, int[] xStride, int[] yDims, int i) {
            int idx = 0;
            for (int d = yDims.length - 1; d >= 0; d--) {
                int c = maps[d][i % yDims[d]];
                i /= yDims[d];
                if (c < 0) return -1;
                idx += c * xStride[d];
            }
            return idx;
        }

        private static int[] strides(Shape s) {
            int[] st = new int[s.rank()];
            for (int i = s.rank() - 1, v = 1; i >= 0; i--) { st[i] = v; v *= s.dim(i); }
            return st;
        }

        @Override
        public void forward(ForwardArgs a) {
            Pad op = (Pad) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            int[][] maps = maps(op, x.shape(), y.shape());
            int[] xStride = strides(x.shape()), yDims = y.shape().dims();
            float[] xd = x.data(), yd = y.data();
            int xo = x.offset(), yo = y.offset();
            Par.range(y.numel(), K.GRAIN / 4, (s, e) -> {
                for (int i = s; i < e; i++) {
                    int j = src(maps, xStride, yDims, i);
                    yd[yo + i] = j < 0 ? 0f : xd[xo + j];
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            Pad op = (Pad) a.node().op();
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            if (K.nothingToPropagate(gy, gx, acc)) return;
            Shape xs = a.node().inShapes().get(0), ys = a.node().outShapes().get(0);
            int[][] maps = maps(op, xs, ys);
            int r = xs.rank();
            int[] xDims = xs.dims(), yStride = strides(ys);
            // per dimension, the output coordinates that read each input coordinate, increasing
            int[][][] pre = new int[r][][];
            for (int d = 0; d < r; d++) {
                int[] cnt = new int[xDims[d]];
                for (int c : maps[d]) if (c >= 0) cnt[c]++;
                pre[d] = new int[xDims[d]][];
                for (int c = 0; c < xDims[d]; c++) pre[d][c] = new int[cnt[c]];
                Arrays.fill(cnt, 0);
                for (int o = 0; o < maps[d].length; o++) if (maps[d][o] >= 0) pre[d][maps[d][o]][cnt[maps[d][o]]++] = o;
            }
            float[] gyd = gy.data(), gxd = gx.data();
            int go = gy.offset(), xo = gx.offset();
            // parallel over input elements; each sums its output elements in increasing output order
            Par.range(gx.numel(), K.GRAIN / 8, (s, e) -> {
                int[] coord = new int[r], at = new int[r];
                for (int j = s; j < e; j++) {
                    int rem = j;
                    boolean none = false;
                    for (int d = r - 1; d >= 0; d--) {
                        coord[d] = rem % xDims[d];
                        rem /= xDims[d];
                        if (pre[d][coord[d]].length == 0) none = true;
                    }
                    double sum = 0;
                    if (!none) {
                        Arrays.fill(at, 0);
                        while (true) {
                            int i = 0;
                            for (int d = 0; d < r; d++) i += pre[d][coord[d]][at[d]] * yStride[d];
                            sum += gyd[go + i];
                            int d = r - 1;
                            while (d >= 0 && ++at[d] == pre[d][coord[d]].length) at[d--] = 0;
                            if (d < 0) break;
                        }
                    }
                    K.put(gxd, xo + j, (float) sum, acc);
                }
            });
        }
    }

    /**
     * The copy of Concat, Slice and Split: {@code outer} rows, each a block of {@code partRow} elements at
     * {@code off} within a {@code wholeRow}-element row of {@code whole}, and the matching row of {@code part}.
     * intoWhole: the block (+)= part; else part (+)= the block; acc adds instead of overwriting.
     */
    static void copyBlock(Buf whole, int wholeRow, int off, Buf part, int partRow, int outer, boolean intoWhole,
                          boolean acc) {
        float[] src = intoWhole ? part.data() : whole.data(), dst = intoWhole ? whole.data() : part.data();
        int wo = whole.offset(), po = part.offset();
        Par.range(outer, Par.grain(outer, partRow), (s, e) -> {
            for (int o = s; o < e; o++) {
                int wi = wo + o * wholeRow + off, pi = po + o * partRow;
                int si = intoWhole ? pi : wi, di = intoWhole ? wi : pi;
                if (!acc) System.arraycopy(src, si, dst, di, partRow);
                else for (int j = 0; j < partRow; j++) dst[di + j] += src[si + j];
            }
        });
    }
}

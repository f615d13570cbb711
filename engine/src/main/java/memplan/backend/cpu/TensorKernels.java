package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.Concat;
import memplan.ops.Slice;
import memplan.ops.Transpose;

import java.util.List;

/** Add, Mul, Concat, Slice, Transpose and the view ops. */
final class TensorKernels {
    private TensorKernels() {
    }

    /** y = a + b; may run in place (y aliases a). Backward needs nothing. */
    static final class AddK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf x0 = a.in()[0], x1 = a.in()[1], y = a.out()[0];
            float[] d0 = x0.data(), d1 = x1.data(), yd = y.data();
            int o0 = x0.offset(), o1 = x1.offset(), yo = y.offset();
            Par.range(y.numel(), K.GRAIN, (s, e) -> {
                for (int i = s; i < e; i++) yd[yo + i] = d0[o0 + i] + d1[o1 + i];
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gy = a.gradOut(0);
            // write a gradient that aliases gradOut last, so the other one still reads the original values
            int first = a.gradIn(0) != null && a.gradIn(0).sameMemory(gy) ? 1 : 0;
            K.copyGrad(gy, a.gradIn(first), a.accIn(first));
            K.copyGrad(gy, a.gradIn(1 - first), a.accIn(1 - first));
        }
    }

    /** y = a * b. Backward reads both inputs. */
    static final class MulK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf x0 = a.in()[0], x1 = a.in()[1], y = a.out()[0];
            float[] d0 = x0.data(), d1 = x1.data(), yd = y.data();
            int o0 = x0.offset(), o1 = x1.offset(), yo = y.offset();
            Par.range(y.numel(), K.GRAIN, (s, e) -> {
                for (int i = s; i < e; i++) yd[yo + i] = d0[o0 + i] * d1[o1 + i];
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gy = a.gradOut(0);
            int first = a.gradIn(0) != null && a.gradIn(0).sameMemory(gy) ? 1 : 0;
            for (int t = 0; t < 2; t++) {
                int k = t == 0 ? first : 1 - first;
                Buf gx = a.gradIn(k);
                if (gx == null) continue;
                boolean acc = a.accIn(k);
                if (gy == null) {
                    if (!acc) K.zero(gx);
                    continue;
                }
                Buf other = a.need(a.in(), 1 - k, "input");
                float[] od = other.data(), gyd = gy.data(), gxd = gx.data();
                int oo = other.offset(), go = gy.offset(), xo = gx.offset();
                Par.range(gx.numel(), K.GRAIN, (s, e) -> {
                    for (int i = s; i < e; i++) K.put(gxd, xo + i, gyd[go + i] * od[oo + i], acc);
                });
            }
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
        private static void copy(memplan.ops.Op op, List<Shape> ins, int k, Buf x, Buf y, boolean forward, boolean acc) {
            Shape ys = y.shape();
            int axis = ((Concat) op).axis();
            int ax = axis < 0 ? ys.rank() + axis : axis;
            int outer = (int) ys.numel(0, ax), inner = (int) ys.numel(ax + 1, ys.rank());
            int yRow = ys.dim(ax) * inner;
            int off = 0;
            for (int j = 0; j < k; j++) off += ins.get(j).dim(ax) * inner;
            int xRow = ins.get(k).dim(ax) * inner;
            int offF = off;
            float[] xd = x.data(), yd = y.data();
            int xo = x.offset(), yo = y.offset();
            Par.range(outer, Par.grain(outer, xRow), (s, e) -> {
                for (int o = s; o < e; o++) {
                    int yi = yo + o * yRow + offF, xi = xo + o * xRow;
                    if (forward) System.arraycopy(xd, xi, yd, yi, xRow);
                    else if (!acc) System.arraycopy(yd, yi, xd, xi, xRow);
                    else for (int j = 0; j < xRow; j++) xd[xi + j] += yd[yi + j];
                }
            });
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
            float[] xd = x.data(), yd = y.data();
            int xo = x.offset(), yo = y.offset();
            Par.range(outer, Par.grain(outer, yRow), (s, e) -> {
                for (int o = s; o < e; o++) {
                    int xi = xo + o * xRow + off, yi = yo + o * yRow;
                    if (forward) System.arraycopy(xd, xi, yd, yi, yRow);
                    else if (!acc) System.arraycopy(yd, yi, xd, xi, yRow);
                    else for (int j = 0; j < yRow; j++) xd[xi + j] += yd[yi + j];
                }
            });
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

        private static String name(memplan.graph.Node n) {
            return n == null ? "?" : n.name();
        }

        @Override
        public void forward(ForwardArgs a) {
            throw new UnsupportedOperationException(type + " '" + name(a == null ? null : a.node()) + "' is a view: it has no kernel, "
                    + "its output shares the input's memory");
        }

        @Override
        public void backward(BackwardArgs a) {
            throw new UnsupportedOperationException(type + " '" + name(a == null ? null : a.node()) + "' is a view: its gradient is its "
                    + "output's gradient (same memory), there is no backward kernel");
        }
    }
}

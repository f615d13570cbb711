package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Cast;
import memplan.ops.Clip;
import memplan.ops.ConstElementwise;
import memplan.ops.ConvTranspose2d;
import memplan.ops.HardSigmoid;
import memplan.ops.LeakyReLU;
import memplan.ops.MaskedFill;
import memplan.ops.Pad;
import memplan.ops.ReduceMean;
import memplan.ops.Split;

/**
 * Kernels of the ops the ONNX importer introduced: ConvTranspose2d, the pointwise LeakyReLU, HardSigmoid,
 * HardSwish, Sqrt and Clip, Cast, the broadcasting binary ops (BroadcastAdd, BroadcastMul, Sub, Div, Pow),
 * ConstElementwise, ReduceMean, Split, Pad, MaskedFill and the Opaque placeholder.
 * <p>
 * Broadcasting follows NumPy: shapes are aligned from the right and a dimension of 1 repeats. The gradient of an
 * operand smaller than the output is summed over its broadcast positions in increasing output order (in double,
 * in parallel over the operand's elements), so it is deterministic; same-shape operands are computed elementwise in
 * parallel and may alias gradOut.
 */
final class ImportedOpKernels {
    private ImportedOpKernels() {
    }

    // ------------------------------------------------------------------ shared helpers

    /** Element strides of {@code s} aligned to the last {@code s.rank()} of an output of rank r; 0 on broadcast dims. */
    static int[] bstrides(Shape s, Shape out) {
        int r = out.rank();
        int[] st = new int[r];
        int stride = 1;
        for (int i = s.rank() - 1; i >= 0; i--) {
            int oi = i + (r - s.rank());
            st[oi] = s.dim(i) == 1 && out.dim(oi) != 1 ? 0 : stride;
            stride *= s.dim(i);
        }
        return st;
    }

    /** Index into an operand of each output element: a broadcast map. */
    static final class BMap {
        final int[] dims, strides;
        final boolean identity;

        BMap(Shape operand, Shape out) {
            dims = out.dims();
            strides = bstrides(operand, out);
            identity = operand.numel() == out.numel();
        }

        /** Operand index of output element i. */
        int at(int i) {
            if (identity) return i;
            int idx = 0;
            for (int d = dims.length - 1; d >= 0; d--) {
                int c = i % dims[d];
                i /= dims[d];
                idx += c * strides[d];
            }
            return idx;
        }
    }

    interface IndexedTerm {
        /** The gradient contribution of output element i (operand index j). */
        double at(int i);
    }

    /**
     * g (+)= the per-output-element terms, summed over the output elements that map to each element of g. Same size
     * as the output: elementwise in parallel (term i is read before element i is written, so g may alias gradOut).
     * Smaller: summed in increasing output order in double.
     */
    static void reduceInto(Buf g, Shape out, boolean acc, IndexedTerm term) {
        float[] gd = g.data();
        int go = g.offset();
        int n = (int) out.numel();
        if (g.numel() == n) {
            Par.range(n, K.GRAIN / 8, (s, e) -> {
                for (int i = s; i < e; i++) K.put(gd, go + i, (float) term.at(i), acc);
            });
            return;
        }
        // parallel over the elements of g; each sums its output elements in increasing output order (an odometer
        // over the broadcast dimensions), so the result does not depend on the thread count
        int r = out.rank();
        int[] od = out.dims(), st = bstrides(g.shape(), out);
        int[] oStride = new int[r];
        for (int d = r - 1, v = 1; d >= 0; d--) { oStride[d] = v; v *= od[d]; }
        int count = 0;
        for (int d = 0; d < r; d++) if (st[d] == 0 && od[d] > 1) count++;
        int nb = count;
        int[] bDims = new int[nb], bStride = new int[nb];
        for (int d = 0, k = 0; d < r; d++) if (st[d] == 0 && od[d] > 1) { bDims[k] = od[d]; bStride[k++] = oStride[d]; }
        int[] gDims = new int[r]; // g's dims aligned to the output (1 where broadcast or missing)
        for (int d = 0; d < r; d++) gDims[d] = st[d] == 0 ? 1 : od[d];
        int per = n / g.numel();
        Par.range(g.numel(), Par.grain(g.numel(), per), (s, e) -> {
            int[] c = new int[nb];
            for (int j = s; j < e; j++) {
                int rem = j, base = 0;
                for (int d = r - 1; d >= 0; d--) {
                    base += (rem % gDims[d]) * oStride[d];
                    rem /= gDims[d];
                }
                java.util.Arrays.fill(c, 0);
                double sum = 0;
                int i = base;
                for (int cnt = 0; cnt < per; cnt++) {
                    sum += term.at(i);
                    for (int k = nb - 1; k >= 0; k--) { // next broadcast position, last dimension fastest
                        i += bStride[k];
                        if (++c[k] < bDims[k]) break;
                        i -= bStride[k] * bDims[k];
                        c[k] = 0;
                    }
                }
                K.put(gd, go + j, (float) sum, acc);
            }
        });
    }

    /** Whether element i of a tensor of any dtype is nonzero (a mask). */
    static boolean truth(Buf b, int i) {
        return switch (b.dtype()) {
            case FP32 -> b.get(i) != 0f;
            case INT32 -> b.getInt(i) != 0;
            case INT64 -> b.getLong(i) != 0;
            case BOOL -> b.getByte(i) != 0;
            case FP16, BF16 -> (b.getHalf(i) & 0x7fff) != 0;
        };
    }

    // ------------------------------------------------------------------ pointwise

    /** A one-input pointwise op; backward reads the input or the output, as the op declares. */
    abstract static class Unary implements CpuKernel {
        abstract float f(memplan.ops.Op op, float x);

        /** dy/dx from the saved value (the input, or the output when {@link #savesOutput()}). */
        abstract float df(memplan.ops.Op op, float saved);

        boolean savesOutput() {
            return false;
        }

        @Override
        public void forward(ForwardArgs a) {
            Buf x = a.in()[0], y = a.out()[0];
            var op = a.node().op();
            float[] xd = x.data(), yd = y.data();
            int xo = x.offset(), yo = y.offset();
            Par.range(x.numel(), K.GRAIN / 4, (s, e) -> {
                for (int i = s; i < e; i++) yd[yo + i] = f(op, xd[xo + i]);
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            if (K.nothingToPropagate(gy, gx, acc)) return;
            var op = a.node().op();
            Buf saved = savesOutput() ? a.need(a.out(), 0, "output") : a.need(a.in(), 0, "input");
            float[] sd = saved.data(), gyd = gy.data(), gxd = gx.data();
            int so = saved.offset(), go = gy.offset(), xo = gx.offset();
            Par.range(gx.numel(), K.GRAIN / 4, (s, e) -> {
                for (int i = s; i < e; i++) K.put(gxd, xo + i, gyd[go + i] * df(op, sd[so + i]), acc);
            });
        }
    }

    /** x for x > 0, slope x otherwise; backward reads x. */
    static final class LeakyReLUK extends Unary {
        @Override float f(memplan.ops.Op op, float x) { return x > 0f ? x : (float) (((LeakyReLU) op).slope() * x); }
        @Override float df(memplan.ops.Op op, float x) { return x > 0f ? 1f : (float) ((LeakyReLU) op).slope(); }
    }

    /** max(0, min(1, alpha x + beta)); backward reads x: alpha strictly inside (0, 1), else 0. */
    static final class HardSigmoidK extends Unary {
        @Override
        float f(memplan.ops.Op op, float x) {
            HardSigmoid h = (HardSigmoid) op;
            double v = h.alpha() * x + h.beta();
            return (float) Math.max(0, Math.min(1, v));
        }

        @Override
        float df(memplan.ops.Op op, float x) {
            HardSigmoid h = (HardSigmoid) op;
            double v = h.alpha() * x + h.beta();
            return v > 0 && v < 1 ? (float) h.alpha() : 0f;
        }
    }

    /** x * max(0, min(1, x / 6 + 1/2)) (ONNX and PyTorch); backward reads x. */
    static final class HardSwishK extends Unary {
        @Override
        float f(memplan.ops.Op op, float x) {
            if (x <= -3f) return 0f;
            if (x >= 3f) return x;
            return (float) (x * (x + 3.0) / 6.0);
        }

        @Override
        float df(memplan.ops.Op op, float x) {
            if (x < -3f) return 0f;
            if (x > 3f) return 1f;
            return (float) ((2.0 * x + 3.0) / 6.0);
        }
    }

    /** sqrt(x); backward reads y: g / (2 y). */
    static final class SqrtK extends Unary {
        @Override float f(memplan.ops.Op op, float x) { return (float) Math.sqrt(x); }
        @Override float df(memplan.ops.Op op, float y) { return (float) (0.5 / y); }
        @Override boolean savesOutput() { return true; }
    }

    /** Clamp to [min, max]; backward reads y: the gradient passes where min < y < max. May run in place. */
    static final class ClipK extends Unary {
        @Override
        float f(memplan.ops.Op op, float x) {
            Clip c = (Clip) op;
            if (Float.isNaN(x)) return x;
            double v = Math.max(c.min(), Math.min(c.max(), x));
            return (float) v;
        }

        @Override
        float df(memplan.ops.Op op, float y) {
            Clip c = (Clip) op;
            return y > (float) c.min() && y < (float) c.max() ? 1f : 0f;
        }

        @Override boolean savesOutput() { return true; }
    }

    // ------------------------------------------------------------------ Cast

    /**
     * Dtype conversion. To the float type (to = null, or any floating dtype: the CPU backend computes in fp32):
     * fp32 values, from fp32 (a copy), int64, int32 or bool (0/1). To int64/int32: truncation toward zero (ONNX),
     * from fp32 or another integer type. To bool: nonzero. Backward passes the gradient through a float-to-float
     * cast; no gradient flows into integer inputs or out of integer results.
     */
    static final class CastK implements CpuKernel {
        static boolean floatTarget(Cast c) {
            return c.to() == null || c.to().floating;
        }

        @Override
        public void forward(ForwardArgs a) {
            Cast c = (Cast) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            int n = x.numel();
            DType to = floatTarget(c) ? DType.FP32 : c.to();
            if (to == DType.FP32 && x.dtype() == DType.FP32) {
                if (!x.sameMemory(y)) System.arraycopy(x.data(), x.offset(), y.data(), y.offset(), n);
                return;
            }
            // BOOL packs 4 elements per slot: chunks of 4 elements keep each slot written by one task
            Par.range((n + 3) / 4, K.GRAIN / 4, (s, e) -> {
                for (int i = 4 * s; i < Math.min(n, 4 * e); i++) {
                    switch (to) {
                        case FP32 -> y.set(i, (float) value(x, i));
                        case INT64 -> y.setLong(i, (long) value(x, i));
                        case INT32 -> y.setInt(i, (int) (long) value(x, i));
                        case BOOL -> y.setByte(i, truth(x, i) ? 1 : 0);
                        default -> throw new IllegalArgumentException("Cast '" + a.node().name() + "': the CPU backend cannot store " + to);
                    }
                }
            });
        }

        /** Element i as a double (integers exact up to 2^53). */
        private static double value(Buf x, int i) {
            return switch (x.dtype()) {
                case FP32 -> x.get(i);
                case INT32 -> x.getInt(i);
                case INT64 -> x.getLong(i);
                case BOOL -> x.getByte(i) != 0 ? 1 : 0;
                case FP16, BF16 -> throw new IllegalArgumentException("Cast: the CPU backend computes in fp32, got a " + x.dtype() + " input");
            };
        }

        @Override
        public void backward(BackwardArgs a) {
            Cast c = (Cast) a.node().op();
            Buf gx = a.gradIn(0);
            if (gx == null || !floatTarget(c) || gx.dtype() != DType.FP32) return;
            K.copyGrad(a.gradOut(0), gx, a.accIn(0));
        }
    }

    // ------------------------------------------------------------------ broadcasting binary ops

    enum Bin { ADD, SUB, MUL, DIV, POW }

    static float apply(Bin f, float a, float b) {
        return switch (f) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> (float) Math.pow(a, b);
        };
    }

    /** d(a f b)/da given y = a f b. */
    static double dA(Bin f, double a, double b, double y) {
        return switch (f) {
            case ADD, SUB -> 1;
            case MUL -> b;
            case DIV -> 1 / b;
            case POW -> b == 0 ? 0 : b * Math.pow(a, b - 1); // PyTorch: 0 where the exponent is 0
        };
    }

    /** d(a f b)/db given y = a f b. */
    static double dB(Bin f, double a, double b, double y) {
        return switch (f) {
            case ADD -> 1;
            case SUB -> -1;
            case MUL -> a;
            case DIV -> -a / (b * b);
            case POW -> a == 0 && b >= 0 ? 0 : Math.log(a) * y; // PyTorch: 0 where the base is 0 and the exponent >= 0
        };
    }

    /** y[i] = x0[map0(i)] f x1[map1(i)]: parallel over output rows. */
    static void broadcastForward(Bin f, Buf x0, Buf x1, Buf y) {
        Shape ys = y.shape();
        BMap m0 = new BMap(x0.shape(), ys), m1 = new BMap(x1.shape(), ys);
        float[] d0 = x0.data(), d1 = x1.data(), yd = y.data();
        int o0 = x0.offset(), o1 = x1.offset(), yo = y.offset();
        Par.range(y.numel(), K.GRAIN / 4, (s, e) -> {
            for (int i = s; i < e; i++) yd[yo + i] = apply(f, d0[o0 + m0.at(i)], d1[o1 + m1.at(i)]);
        });
    }

    /**
     * Gradients of both operands; the one that aliases gradOut is written last. Operand values are read only when
     * the derivative needs them (absent ones are passed as null).
     */
    static void broadcastBackward(Bin f, BackwardArgs a, Buf x0, Buf x1, Buf y) {
        Buf gy = a.gradOut(0);
        Shape ys = a.node().outShapes().get(0);
        int first = a.gradIn(0) != null && a.gradIn(0).sameMemory(gy) ? 1 : 0;
        for (int t = 0; t < 2; t++) {
            int k = t == 0 ? first : 1 - first;
            Buf gx = a.gradIn(k);
            boolean acc = a.accIn(k);
            if (K.nothingToPropagate(gy, gx, acc)) continue;
            BMap m0 = x0 == null ? null : new BMap(x0.shape(), ys), m1 = x1 == null ? null : new BMap(x1.shape(), ys);
            float[] gyd = gy.data();
            int go = gy.offset();
            IndexedTerm term = i -> {
                double g = gyd[go + i];
                double av = m0 == null ? 0 : x0.get(m0.at(i)), bv = m1 == null ? 0 : x1.get(m1.at(i));
                double yv = y == null ? 0 : y.get(i);
                return g * (k == 0 ? dA(f, av, bv, yv) : dB(f, av, bv, yv));
            };
            reduceInto(gx, ys, acc, term);
        }
    }

    /** BroadcastAdd, BroadcastMul, Sub, Div and Pow of two tensors. */
    static final class BinaryK implements CpuKernel {
        private final Bin f;

        BinaryK(Bin f) {
            this.f = f;
        }

        @Override
        public void forward(ForwardArgs a) {
            broadcastForward(f, a.in()[0], a.in()[1], a.out()[0]);
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf x0 = null, x1 = null, y = null;
            boolean any = a.gradIn(0) != null || a.gradIn(1) != null;
            if (any && a.gradOut(0) != null) switch (f) {
                case ADD, SUB -> { }
                case MUL, DIV -> {
                    // Mul: da reads b, db reads a; Div: da reads b, db reads a and b
                    if (a.gradIn(0) != null || f == Bin.DIV) x1 = a.need(a.in(), 1, "input");
                    if (a.gradIn(1) != null) x0 = a.need(a.in(), 0, "input");
                }
                case POW -> {
                    x0 = a.need(a.in(), 0, "input");
                    x1 = a.need(a.in(), 1, "input");
                    y = a.need(a.out(), 0, "output");
                }
            }
            broadcastBackward(f, a, x0, x1, y);
        }
    }

    // ------------------------------------------------------------------ ConstElementwise

    /**
     * x (fn) c, or c (fn) x when reversed; c the scalar {@code value} or param 0 "const" (broadcast). Backward
     * reads what the op declares: x for mul/div/pow as declared, the output for reversed pow. The gradient of a
     * trainable const in reversed pow (c ^ x, whose backward saves only the output) recovers x as ln(y) / ln(c).
     */
    static final class ConstK implements CpuKernel {
        static Bin bin(ConstElementwise op) {
            return Bin.valueOf(op.fn().toUpperCase(java.util.Locale.ROOT));
        }

        /** The constant as a tensor: the param, or a one-element buffer holding the scalar. */
        private static Buf constant(ConstElementwise op, Buf[] params) {
            if (op.shape().isEmpty()) return Buf.of(Shape.of(1), (float) op.value());
            return params == null || params.length == 0 ? null : params[0];
        }

        @Override
        public void forward(ForwardArgs a) {
            ConstElementwise op = (ConstElementwise) a.node().op();
            Buf c = constant(op, a.params());
            if (op.reversed()) broadcastForward(bin(op), c, a.in()[0], a.out()[0]);
            else broadcastForward(bin(op), a.in()[0], c, a.out()[0]);
        }

        @Override
        public void backward(BackwardArgs a) {
            ConstElementwise op = (ConstElementwise) a.node().op();
            Bin f = bin(op);
            Buf gy = a.gradOut(0);
            Shape ys = a.node().outShapes().get(0);
            Buf gx = a.gradIn(0), gc = op.shape().isEmpty() ? null : a.gradParam(0);
            boolean accX = a.accIn(0), accC = a.accParam(0);
            boolean xNeeded = f == Bin.MUL && gc != null || f == Bin.DIV && (gc != null || op.reversed())
                    || f == Bin.POW && !op.reversed();
            boolean cNeeded = f != Bin.ADD && f != Bin.SUB;
            boolean yNeeded = f == Bin.POW && op.reversed();
            boolean work = gy != null && (gx != null || gc != null);
            Buf x = work && xNeeded ? a.need(a.in(), 0, "input") : null;
            Buf c = work && cNeeded ? (op.shape().isEmpty() ? constant(op, null) : a.need(a.params(), 0, "param")) : null;
            Buf y = work && yNeeded ? a.need(a.out(), 0, "output") : null;
            // operand order of the function: (x, c) or (c, x) when reversed
            Buf first = op.reversed() ? c : x, second = op.reversed() ? x : c;
            boolean xIsFirst = !op.reversed();
            // gc first: gx may alias gradOut
            if (gc != null && !K.nothingToPropagate(gy, gc, accC)) reduceInto(gc, ys, accC, term(f, gy, ys, first, second, y, !xIsFirst, true, op));
            if (gx != null && !K.nothingToPropagate(gy, gx, accX)) reduceInto(gx, ys, accX, term(f, gy, ys, first, second, y, xIsFirst, false, op));
        }

        /** g * d(first f second)/d(first when wrtFirst, else second). */
        private static IndexedTerm term(Bin f, Buf gy, Shape ys, Buf first, Buf second, Buf y, boolean wrtFirst, boolean wrtConst,
                                        ConstElementwise op) {
            BMap m0 = first == null ? null : new BMap(first.shape(), ys), m1 = second == null ? null : new BMap(second.shape(), ys);
            float[] gyd = gy.data();
            int go = gy.offset();
            boolean recoverX = f == Bin.POW && op.reversed() && wrtConst; // c ^ x w.r.t. c, x not saved
            return i -> {
                double g = gyd[go + i];
                double av = m0 == null ? 0 : first.get(m0.at(i)), bv = m1 == null ? 0 : second.get(m1.at(i));
                double yv = y == null ? 0 : y.get(i);
                if (recoverX) {
                    // first = c, second = x (absent): x = ln(y) / ln(c); d(c^x)/dc = x c^(x-1) = x y / c
                    double xv = Math.log(yv) / Math.log(av);
                    return g * xv * yv / av;
                }
                if (f == Bin.POW && !wrtFirst && !op.reversed()) yv = Math.pow(av, bv); // x ^ c w.r.t. c: ln(x) x^c
                return g * (wrtFirst ? dA(f, av, bv, yv) : dB(f, av, bv, yv));
            };
        }
    }

    // ------------------------------------------------------------------ ReduceMean

    /** Mean over axes (all when none are listed); sums in double in increasing index order. Backward spreads g / count. */
    static final class ReduceMeanK implements CpuKernel {
        /** The output shape with the reduced axes kept as 1, and the number of elements averaged. */
        private static Shape kept(ReduceMean op, Shape x) {
            int r = x.rank();
            int[] d = x.dims();
            if (op.axes().isEmpty()) java.util.Arrays.fill(d, 1);
            for (int ax : op.axes()) d[ax < 0 ? ax + r : ax] = 1;
            return new Shape(d);
        }

        @Override
        public void forward(ForwardArgs a) {
            ReduceMean op = (ReduceMean) a.node().op();
            Buf x = a.in()[0], y = a.out()[0];
            Shape xs = x.shape(), ks = kept(op, xs);
            int r = xs.rank();
            int[] xd = xs.dims(), kd = ks.dims();
            int[] xStride = new int[r];
            for (int i = r - 1, st = 1; i >= 0; i--) { xStride[i] = st; st *= xd[i]; }
            // the reduced sub-box: dims where kd == 1 but xd > 1 (or listed)
            int count = (int) (xs.numel() / Math.max(1, ks.numel()));
            int[] rDims = new int[r];
            for (int i = 0; i < r; i++) rDims[i] = kd[i] == xd[i] ? 1 : xd[i];
            int nOut = (int) ks.numel();
            float[] xa = x.data(), ya = y.data();
            int xo = x.offset(), yo = y.offset();
            Par.range(nOut, Par.grain(nOut, count), (s, e) -> {
                int[] idx = new int[r];
                for (int o = s; o < e; o++) {
                    int rem = o, base = 0;
                    for (int d = r - 1; d >= 0; d--) {
                        int c = rem % kd[d];
                        rem /= kd[d];
                        base += c * xStride[d];
                    }
                    double sum = 0;
                    for (int j = 0; j < count; j++) {
                        int rj = j, off = 0;
                        for (int d = r - 1; d >= 0; d--) {
                            int c = rj % rDims[d];
                            rj /= rDims[d];
                            off += c * xStride[d];
                        }
                        sum += xa[xo + base + off];
                    }
                    ya[yo + o] = (float) (sum / count);
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            ReduceMean op = (ReduceMean) a.node().op();
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            if (K.nothingToPropagate(gy, gx, acc)) return;
            Shape xs = a.node().inShapes().get(0), ks = kept(op, xs);
            BMap m = new BMap(ks, xs);
            int count = (int) (xs.numel() / Math.max(1, ks.numel()));
            float[] gyd = gy.data(), gxd = gx.data();
            int go = gy.offset(), xo = gx.offset();
            Par.range(gx.numel(), K.GRAIN / 4, (s, e) -> {
                for (int i = s; i < e; i++) K.put(gxd, xo + i, gyd[go + m.at(i)] / count, acc);
            });
        }
    }

    // ------------------------------------------------------------------ Split

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
                java.util.Arrays.fill(d, b, b + g[2], 0f);
            }
        }

        /** forward: y = x[part k]; backward: x[part k] (+)= y. */
        private static void copy(Split op, int k, Buf x, Buf y, boolean forward, boolean acc) {
            int[] g = geo(op, k, x.shape());
            int outer = g[0], xRow = g[1], yRow = g[2], off = g[3];
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

    // ------------------------------------------------------------------ Pad

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
                java.util.Arrays.fill(cnt, 0);
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
                        java.util.Arrays.fill(at, 0);
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

    // ------------------------------------------------------------------ MaskedFill

    /**
     * y = x where kept, value elsewhere; kept = mask != 0 (keepWhereTrue) or mask == 0. The mask is input 1 (any
     * integer, bool or float dtype) or the buffer param "mask"; it broadcasts against x. Backward: g where kept,
     * summed over broadcast positions when x is smaller than the output.
     */
    static final class MaskedFillK implements CpuKernel {
        private static Buf mask(MaskedFill op, Buf[] in, Buf[] params, boolean inputMask) {
            return inputMask ? in[1] : params[0];
        }

        private static boolean inputMask(MaskedFill op) {
            return op.maskShape().isEmpty();
        }

        @Override
        public void forward(ForwardArgs a) {
            MaskedFill op = (MaskedFill) a.node().op();
            Buf x = a.in()[0], y = a.out()[0], m = mask(op, a.in(), a.params(), inputMask(op));
            Shape ys = y.shape();
            BMap mx = new BMap(x.shape(), ys), mm = new BMap(m.shape(), ys);
            float v = (float) op.value();
            boolean keepTrue = op.keepWhereTrue();
            float[] xd = x.data(), yd = y.data();
            int xo = x.offset(), yo = y.offset();
            Par.range(y.numel(), K.GRAIN / 4, (s, e) -> {
                for (int i = s; i < e; i++) {
                    boolean keep = truth(m, mm.at(i)) == keepTrue;
                    yd[yo + i] = keep ? xd[xo + mx.at(i)] : v;
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            MaskedFill op = (MaskedFill) a.node().op();
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            if (K.nothingToPropagate(gy, gx, acc)) return;
            Buf m = inputMask(op) ? a.need(a.in(), 1, "input") : a.need(a.params(), 0, "param");
            Shape ys = a.node().outShapes().get(0);
            BMap mm = new BMap(m.shape(), ys);
            boolean keepTrue = op.keepWhereTrue();
            float[] gyd = gy.data();
            int go = gy.offset();
            reduceInto(gx, ys, acc, i -> truth(m, mm.at(i)) == keepTrue ? gyd[go + i] : 0.0);
        }
    }

    // ------------------------------------------------------------------ Opaque

    /**
     * A PLACEHOLDER for an operator MemPlan does not model: every output is a copy of input 0 (the op's declared
     * shape), and backward passes the sum of the outputs' gradients to input 0 (zero to the other inputs). This
     * lets a model with opaque ops run so that its memory behaviour can be measured; the values it computes mean
     * nothing.
     */
    static final class OpaqueK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf x = a.in()[0];
            for (Buf y : a.out())
                if (!y.sameMemory(x)) System.arraycopy(x.data(), x.offset(), y.data(), y.offset(), x.numel());
        }

        @Override
        public void backward(BackwardArgs a) {
            int outs = a.node().outShapes().size();
            Buf gx = a.gradIn(0);
            if (gx != null) {
                boolean acc = a.accIn(0);
                // the output gradient gx may alias goes first (written over, then others added)
                int alias = -1;
                for (int k = 0; k < outs; k++) if (gx.sameMemory(a.gradOut(k))) alias = k;
                boolean written = acc;
                if (alias >= 0) { K.copyGrad(a.gradOut(alias), gx, acc); written = true; }
                for (int k = 0; k < outs; k++) {
                    if (k == alias || a.gradOut(k) == null) continue;
                    K.copyGrad(a.gradOut(k), gx, written);
                    written = true;
                }
                if (!written) K.zero(gx);
            }
            for (int i = 1; i < a.node().inShapes().size(); i++) {
                Buf g = a.gradIn(i);
                if (g != null && !a.accIn(i)) K.zero(g);
            }
        }
    }

    // ------------------------------------------------------------------ ConvTranspose2d

    /**
     * Transposed convolution: per image and group, col = W_g^T x_g (a [out/g * kh * kw, H * W] matrix by GEMM),
     * then col2im scatters col into the output (which starts at the bias). This is exactly the data gradient of
     * a Conv2d with the same geometry. Backward: im2col of the output gradient gives gcol; gx_g = W_g gcol_g,
     * gW_g += x_g gcol_g^T (images in order), gb = sums over images and pixels.
     */
    static final class ConvTransposeK implements CpuKernel {
        /** c/cg: input channels; o/og: output channels; (h, w): input size; (oh, ow): output size. */
        private record Geo(int n, int c, int h, int w, int o, int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw,
                           int dh, int dw, int groups) {
            int cg() { return c / groups; }
            int og() { return o / groups; }
            int kk() { return kh * kw; }
            int rowsG() { return og() * kk(); }
            int hw() { return h * w; }
            long colSize() { return (long) o * kk() * hw(); }

            static Geo of(ConvTranspose2d op, Shape x, Shape y) {
                return new Geo(x.dim(0), x.dim(1), x.dim(2), x.dim(3), y.dim(1), y.dim(2), y.dim(3), op.kernel().h(), op.kernel().w(),
                        op.stride().h(), op.stride().w(), op.padding().h(), op.padding().w(), op.dilation().h(), op.dilation().w(),
                        op.groups());
            }
        }

        /** y[n] += col2im(col): parallel over output channels; each channel's rows added in order. */
        private static void col2im(Geo g, Buf col, Buf y, int n) {
            Im2col un = new Im2col(g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.h, g.w);
            int yBase = y.offset() + n * g.o * g.oh * g.ow;
            Par.range(g.o, Par.grain(g.o, (long) g.kk() * g.hw()), (s, e) -> un.addChannels(col.data(), col.offset(), y.data(), yBase, s, e, true));
        }

        /** col[(oc, u, v), (i, j)] = gy[n, oc, i sh - ph + u dh, j sw - pw + v dw] (zero outside). */
        private static void im2col(Geo g, Buf gy, int n, Buf col) {
            Im2col un = new Im2col(g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.h, g.w);
            int yBase = gy.offset() + n * g.o * g.oh * g.ow;
            int rows = g.o * g.kk();
            Par.range(rows, Par.grain(rows, g.hw()), (s, e) -> un.rows(gy.data(), yBase, col.data(), col.offset(), s, e));
        }

        @Override
        public void forward(ForwardArgs a) {
            ConvTranspose2d op = (ConvTranspose2d) a.node().op();
            Buf x = a.in()[0], y = a.out()[0], w = a.params()[0];
            Buf b = op.bias() ? a.params()[1] : null;
            Geo g = Geo.of(op, x.shape(), y.shape());
            Buf col = K.scratch(a.workspace(), g.colSize());
            int ohw = g.oh * g.ow;
            for (int n = 0; n < g.n; n++) {
                for (int gi = 0; gi < g.groups; gi++)
                    // col_g [og*kk, hw] = W_g^T, W_g = weight rows of group gi: [cg, og*kk]
                    Gemm.gemm(g.rowsG(), g.hw(), g.cg(), w.data(), w.offset() + gi * g.cg() * g.rowsG(), g.rowsG(), true,
                            x.data(), x.offset() + (n * g.c + gi * g.cg()) * g.hw(), g.hw(), false,
                            col.data(), col.offset() + gi * g.rowsG() * g.hw(), g.hw(), false);
                float[] yd = y.data();
                for (int oc = 0; oc < g.o; oc++) {
                    int base = y.offset() + (n * g.o + oc) * ohw;
                    java.util.Arrays.fill(yd, base, base + ohw, b == null ? 0f : b.get(oc));
                }
                col2im(g, col, y, n);
            }
        }

        @Override
        public void backward(BackwardArgs a) {
            ConvTranspose2d op = (ConvTranspose2d) a.node().op();
            Geo g = Geo.of(op, a.node().inShapes().get(0), a.node().outShapes().get(0));
            Buf gy = a.gradOut(0), gx = a.gradIn(0), gw = a.gradParam(0), gb = op.bias() ? a.gradParam(1) : null;
            if (gy == null) {
                if (gx != null && !a.accIn(0)) K.zero(gx);
                if (gw != null && !a.accParam(0)) K.zero(gw);
                if (gb != null && !a.accParam(1)) K.zero(gb);
                return;
            }
            int ohw = g.oh * g.ow;
            if (gb != null) {
                float[] yd = gy.data();
                Par.range(g.o, 1, (s, e) -> {
                    for (int oc = s; oc < e; oc++) {
                        double sum = 0;
                        for (int n = 0; n < g.n; n++) {
                            int base = gy.offset() + (n * g.o + oc) * ohw;
                            for (int p = 0; p < ohw; p++) sum += yd[base + p];
                        }
                        K.put(gb.data(), gb.offset() + oc, (float) sum, a.accParam(1));
                    }
                });
            }
            if (gx == null && gw == null) return;
            Buf x = gw != null ? a.need(a.in(), 0, "input") : null;
            Buf w = gx != null ? a.need(a.params(), 0, "param") : null;
            Buf col = K.scratch(a.workspace(), g.colSize());
            for (int n = 0; n < g.n; n++) {
                im2col(g, gy, n, col);
                for (int gi = 0; gi < g.groups; gi++) {
                    int colOff = col.offset() + gi * g.rowsG() * g.hw();
                    int xOff = (n * g.c + gi * g.cg()) * g.hw();
                    if (gx != null) // gx_g [cg, hw] = W_g [cg, og*kk] gcol_g [og*kk, hw]
                        Gemm.gemm(g.cg(), g.hw(), g.rowsG(), w.data(), w.offset() + gi * g.cg() * g.rowsG(), g.rowsG(), false,
                                col.data(), colOff, g.hw(), false, gx.data(), gx.offset() + xOff, g.hw(), a.accIn(0));
                    if (gw != null) // gW_g [cg, og*kk] (+)= x_g [cg, hw] gcol_g^T
                        Gemm.gemm(g.cg(), g.rowsG(), g.hw(), x.data(), x.offset() + xOff, g.hw(), false,
                                col.data(), colOff, g.hw(), true, gw.data(), gw.offset() + gi * g.cg() * g.rowsG(), g.rowsG(),
                                n > 0 || a.accParam(0));
                }
            }
        }
    }
}

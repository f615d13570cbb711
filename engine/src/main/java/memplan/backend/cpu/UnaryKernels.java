package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Cast;
import memplan.ops.Clip;
import memplan.ops.ConstElementwise;
import memplan.ops.HardSigmoid;
import memplan.ops.LeakyReLU;
import memplan.ops.Op;

import java.util.Locale;

import static memplan.backend.cpu.BinaryKernels.*;
import static memplan.backend.cpu.Broadcasting.*;

/**
 * Kernels of one-input elementwise ops besides ReLU, the smooth activations and Dropout (those are in
 * {@link PointwiseKernels}): LeakyReLU, HardSigmoid, HardSwish, Sqrt, Clip, Cast, and ConstElementwise (x with a
 * constant the op owns, broadcast).
 */
final class UnaryKernels {
    private UnaryKernels() {
    }

    /** A one-input pointwise op; backward reads the input or the output, as the op declares. */
    abstract static class Unary implements CpuKernel {
        abstract float f(Op op, float x);

        /** dy/dx from the saved value (the input, or the output when {@link #savesOutput()}). */
        abstract float df(Op op, float saved);

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
        @Override float f(Op op, float x) { return x > 0f ? x : (float) (((LeakyReLU) op).slope() * x); }
        @Override float df(Op op, float x) { return x > 0f ? 1f : (float) ((LeakyReLU) op).slope(); }
    }

    /** max(0, min(1, alpha x + beta)); backward reads x: alpha strictly inside (0, 1), else 0. */
    static final class HardSigmoidK extends Unary {
        @Override
        float f(Op op, float x) {
            HardSigmoid h = (HardSigmoid) op;
            double v = h.alpha() * x + h.beta();
            return (float) Math.max(0, Math.min(1, v));
        }

        @Override
        float df(Op op, float x) {
            HardSigmoid h = (HardSigmoid) op;
            double v = h.alpha() * x + h.beta();
            return v > 0 && v < 1 ? (float) h.alpha() : 0f;
        }
    }

    /** x * max(0, min(1, x / 6 + 1/2)) (ONNX and PyTorch); backward reads x. */
    static final class HardSwishK extends Unary {
        @Override
        float f(Op op, float x) {
            if (x <= -3f) return 0f;
            if (x >= 3f) return x;
            return (float) (x * (x + 3.0) / 6.0);
        }

        @Override
        float df(Op op, float x) {
            if (x < -3f) return 0f;
            if (x > 3f) return 1f;
            return (float) ((2.0 * x + 3.0) / 6.0);
        }
    }

    /** x * sigmoid(x), in double; backward reads x: s (1 + x (1 - s)). */
    static final class SiLUK extends Unary {
        @Override
        float f(Op op, float x) {
            return (float) (x / (1 + Math.exp(-x)));
        }

        @Override
        float df(Op op, float x) {
            double s = 1 / (1 + Math.exp(-x));
            return (float) (s * (1 + x * (1 - s)));
        }
    }

    /** sqrt(x); backward reads y: g / (2 y). */
    /** x * tanh(softplus(x)), in double; backward reads x: tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2). */
    static final class MishK extends Unary {
        @Override
        float f(Op op, float x) {
            return (float) (x * Math.tanh(softplus(x)));
        }

        @Override
        float df(Op op, float x) {
            double t = Math.tanh(softplus(x));
            return (float) (t + x * (1 - t * t) / (1 + Math.exp(-x)));
        }

        /** log(1 + e^x), which is x to float precision above 20 (and e^x would overflow far above). */
        private static double softplus(double x) {
            return x > 20 ? x : Math.log1p(Math.exp(x));
        }
    }

    /** sqrt(x); backward reads y: g / (2 y). */
    static final class SqrtK extends Unary {
        @Override float f(Op op, float x) { return (float) Math.sqrt(x); }
        @Override float df(Op op, float y) { return (float) (0.5 / y); }
        @Override boolean savesOutput() { return true; }
    }

    /** Clamp to [min, max]; backward reads y: the gradient passes where min < y < max. May run in place. */
    static final class ClipK extends Unary {
        @Override
        float f(Op op, float x) {
            Clip c = (Clip) op;
            if (Float.isNaN(x)) return x;
            double v = Math.max(c.min(), Math.min(c.max(), x));
            return (float) v;
        }

        @Override
        float df(Op op, float y) {
            Clip c = (Clip) op;
            return y > (float) c.min() && y < (float) c.max() ? 1f : 0f;
        }

        @Override boolean savesOutput() { return true; }
    }

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
                        default -> throw new IllegalArgumentException("Cast '" + a.node().name()
                                + "': the CPU backend cannot store " + to);
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
                case UINT8 -> x.getByte(i) & 0xFF;
                case FP16, BF16 -> throw new IllegalArgumentException("Cast: the CPU backend computes in fp32, got a "
                        + x.dtype() + " input");
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

    /**
     * x (fn) c, or c (fn) x when reversed; c the scalar {@code value} or param 0 "const" (broadcast). Backward
     * reads what the op declares: x for mul/div/pow as declared, the output for reversed pow. The gradient of a
     * trainable const in reversed pow (c ^ x, whose backward saves only the output) recovers x as ln(y) / ln(c).
     */
    static final class ConstK implements CpuKernel {
        static Bin bin(ConstElementwise op) {
            return Bin.valueOf(op.fn().toUpperCase(Locale.ROOT));
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
            boolean mod = f == Bin.MOD || f == Bin.FMOD;
            boolean xNeeded = f == Bin.MUL && gc != null || f == Bin.DIV && (gc != null || op.reversed())
                    || f == Bin.POW && !op.reversed() || mod && (gc != null || op.reversed());
            boolean cNeeded = f != Bin.ADD && f != Bin.SUB && !(mod && gc == null && !op.reversed());
            boolean yNeeded = f == Bin.POW && op.reversed();
            boolean work = gy != null && (gx != null || gc != null);
            Buf x = work && xNeeded ? a.need(a.in(), 0, "input") : null;
            Buf c = work && cNeeded ? (op.shape().isEmpty() ? constant(op, null)
                    : a.need(a.params(), 0, "param")) : null;
            Buf y = work && yNeeded ? a.need(a.out(), 0, "output") : null;
            // operand order of the function: (x, c) or (c, x) when reversed
            Buf first = op.reversed() ? c : x, second = op.reversed() ? x : c;
            boolean xIsFirst = !op.reversed();
            // gc first: gx may alias gradOut
            if (gc != null && !K.nothingToPropagate(gy, gc, accC)) reduceInto(gc, ys, accC,
                    term(f, gy, ys, first, second, y, !xIsFirst, true, op));
            if (gx != null && !K.nothingToPropagate(gy, gx, accX)) reduceInto(gx, ys, accX,
                    term(f, gy, ys, first, second, y, xIsFirst, false, op));
        }

        /** g * d(first f second)/d(first when wrtFirst, else second). */
        private static IndexedTerm term(Bin f, Buf gy, Shape ys, Buf first, Buf second, Buf y,
                boolean wrtFirst, boolean wrtConst,
                                        ConstElementwise op) {
            BMap m0 = first == null ? null : new BMap(first.shape(), ys), m1 = second == null ? null
                    : new BMap(second.shape(), ys);
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
}

package memplan.backend.cpu;

import memplan.graph.Node;
import memplan.ir.Shape;
import memplan.ops.Compare;
import memplan.ops.MaskedFill;

import static memplan.backend.cpu.Broadcasting.*;

/**
 * Kernels of the two-operand elementwise ops with broadcasting: Add, Mul, Sub, Div, Pow, and MaskedFill. Equal
 * shapes take the plain elementwise loops of Add and Mul; other shapes go through {@link Broadcasting}.
 */
final class BinaryKernels {
    private BinaryKernels() {
    }

    /** MOD is the remainder with the divisor's sign (PyTorch's remainder), FMOD the dividend's (C's fmod). */
    enum Bin { ADD, SUB, MUL, DIV, POW, MOD, FMOD }

    static float apply(Bin f, float a, float b) {
        return switch (f) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> (float) Math.pow(a, b);
            case MOD -> remainder(a, b);
            case FMOD -> a % b;
        };
    }

    /** a mod b with b's sign: Java's % (exact, C's fmod) moved by b where the signs differ. */
    static float remainder(float a, float b) {
        float r = a % b;
        return r != 0 && (r < 0) != (b < 0) ? r + b : r;
    }

    /** d(a f b)/da given y = a f b. */
    static double dA(Bin f, double a, double b, double y) {
        return switch (f) {
            case ADD, SUB -> 1;
            case MUL -> b;
            case DIV -> 1 / b;
            case POW -> b == 0 ? 0 : b * Math.pow(a, b - 1); // PyTorch: 0 where the exponent is 0
            case MOD, FMOD -> 1;
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
            case MOD -> -Math.floor(a / b); // PyTorch: -g * a.div(b, rounding_mode="floor")
            case FMOD -> -(a / b < 0 ? Math.ceil(a / b) : Math.floor(a / b)); // rounding_mode="trunc"
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

    /**
     * Compare: a bool output (one byte per element, four per slot) from inputs of any dtype, broadcasting two
     * operands, or one against the op's scalar or its constant buffer. No gradient: backward does nothing.
     */
    static final class CompareK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Compare op = (Compare) a.node().op();
            Compare.Relation r = op.relation();
            Buf x0 = a.in()[0], y = a.out()[0];
            Buf x1 = a.in().length > 1 ? a.in()[1] : op.constShape().isEmpty() ? null : a.params()[0];
            Shape ys = y.shape();
            BMap m0 = new BMap(x0.shape(), ys), m1 = x1 == null ? null : new BMap(x1.shape(), ys);
            double v = op.value() == null ? 0 : op.value();
            int n = y.numel();
            // chunks of 4 elements keep each packed slot written by one task
            Par.range((n + 3) / 4, K.GRAIN / 4, (s, e) -> {
                for (int i = 4 * s; i < Math.min(n, 4 * e); i++) {
                    double p = value(x0, m0.at(i)), q = m1 == null ? v : value(x1, m1.at(i));
                    y.setByte(i, r.holds(p, q) ? 1 : 0);
                }
            });
        }

        /** Element i as a double (integers exact up to 2^53). */
        private static double value(Buf x, int i) {
            return switch (x.dtype()) {
                case FP32 -> x.get(i);
                case INT32 -> x.getInt(i);
                case INT64 -> x.getLong(i);
                case BOOL, UINT8 -> x.getByte(i);
                case FP16, BF16 -> throw new IllegalArgumentException("Compare: the CPU backend computes in fp32, "
                        + "got a " + x.dtype() + " input");
            };
        }

        @Override
        public void backward(BackwardArgs a) {
        }
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

    /** Add or Mul: the plain elementwise loop for equal shapes, the broadcasting one otherwise. */
    static final class SameOrBroadcastK implements CpuKernel {
        private final CpuKernel same;
        private final CpuKernel broadcast;

        SameOrBroadcastK(CpuKernel same, CpuKernel broadcast) {
            this.same = same;
            this.broadcast = broadcast;
        }

        private CpuKernel pick(Node n) {
            return n.inShapes().get(0).equals(n.inShapes().get(1)) ? same : broadcast;
        }

        @Override
        public void forward(ForwardArgs a) {
            pick(a.node()).forward(a);
        }

        @Override
        public void backward(BackwardArgs a) {
            pick(a.node()).backward(a);
        }
    }
}

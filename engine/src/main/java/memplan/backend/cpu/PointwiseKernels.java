package memplan.backend.cpu;

import memplan.ops.Dropout;

/** ReLU, GELU (tanh approximation), Sigmoid, Tanh and Dropout. All are safe to run in place (out aliases in). */
final class PointwiseKernels {
    private PointwiseKernels() {
    }

    static final class ReLUK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf x = a.in()[0], y = a.out()[0];
            float[] xd = x.data(), yd = y.data();
            int xo = x.offset(), yo = y.offset();
            Par.range(x.numel(), K.GRAIN, (s, e) -> Chunks.map(yd, yo, xd, xo, null, 0, null, 0, s, e, RELU));
        }

        /** Reads only y > 0, so a 0/1 stand-in for y (a decoded 1-bit mask) gives the exact gradient. */
        @Override
        public void backward(BackwardArgs a) {
            if (K.nothingToPropagate(a)) return;
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            Buf y = a.need(a.out(), 0, "output");
            float[] yd = y.data(), gyd = gy.data(), gxd = gx.data();
            int yo = y.offset(), go = gy.offset(), xo = gx.offset();
            // in place on the arena: passed's bit operations do not vectorise, and through Chunks the copies made
            // it slower (ResNet-18's 56x56 layer at batch 8, one thread: 2.3-2.7 ms here, 3.8-4.0 ms there)
            Par.range(gx.numel(), K.GRAIN, (s, e) -> {
                if (acc) {
                    for (int i = s; i < e; i++) gxd[xo + i] += passed(yd[yo + i], gyd[go + i]);
                } else {
                    for (int i = s; i < e; i++) gxd[xo + i] = passed(yd[yo + i], gyd[go + i]);
                }
            });
        }

        /** Math.max vectorises; it differs from (v > 0 ? v : 0) only for NaN, which it keeps, as PyTorch does. */
        private static final Chunks.Loop RELU = (a, b, c, n) -> {
            for (int k = 0; k < n; k++) a[k] = Math.max(a[k], 0f);
        };

        /**
         * {@code y > 0 ? g : 0f} without a branch: ReLU's outputs are positive about half the time in no pattern, so
         * a branch on them mispredicts often. The mask is all ones exactly when y's bits are those of a float in
         * (0, +inf] (positive: its bits and their negation differ in sign; not NaN: at most +inf's bits).
         */
        static float passed(float y, float g) {
            int b = Float.floatToRawIntBits(y);
            int mask = (-b & ~b & ~(0x7F800000 - b)) >> 31;
            return Float.intBitsToFloat(Float.floatToRawIntBits(g) & mask);
        }
    }

    /** Kinds of the smooth pointwise ops. */
    enum Fn { GELU, SIGMOID, TANH }

    static final class Smooth implements CpuKernel {
        private static final double C = Math.sqrt(2.0 / Math.PI), A = 0.044715;
        private final Fn fn;

        Smooth(Fn fn) {
            this.fn = fn;
        }

        static float apply(Fn fn, float xf) {
            double x = xf;
            return switch (fn) {
                case GELU -> (float) (0.5 * x * (1.0 + K.tanh(C * (x + A * x * x * x))));
                case SIGMOID -> (float) (1.0 / (1.0 + Math.exp(-x)));
                case TANH -> (float) K.tanh(x);
            };
        }

        /** Derivative given the saved value: the input for GELU, the output for Sigmoid and Tanh. */
        static float deriv(Fn fn, float saved) {
            double v = saved;
            return switch (fn) {
                case GELU -> {
                    double t = K.tanh(C * (v + A * v * v * v));
                    yield (float) (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * C * (1 + 3 * A * v * v));
                }
                case SIGMOID -> (float) (v * (1 - v));
                case TANH -> (float) (1 - v * v);
            };
        }

        @Override
        public void forward(ForwardArgs a) {
            Buf x = a.in()[0], y = a.out()[0];
            float[] xd = x.data(), yd = y.data();
            int xo = x.offset(), yo = y.offset();
            Fn f = fn;
            Par.range(x.numel(), K.GRAIN / 8, (s, e) -> {
                for (int i = s; i < e; i++) yd[yo + i] = apply(f, xd[xo + i]);
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            if (K.nothingToPropagate(a)) return;
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            Buf saved = fn == Fn.GELU ? a.need(a.in(), 0, "input") : a.need(a.out(), 0, "output");
            float[] sd = saved.data(), gyd = gy.data(), gxd = gx.data();
            int so = saved.offset(), go = gy.offset(), xo = gx.offset();
            Fn f = fn;
            Par.range(gx.numel(), K.GRAIN / 8, (s, e) -> {
                for (int i = s; i < e; i++) K.put(gxd, xo + i, gyd[go + i] * deriv(f, sd[so + i]), acc);
            });
        }
    }

    /**
     * Dropout. The keep decision of element i is a counter-based hash of (seed, node index, i), so a recompute
     * draws the same mask. aux[0] = BOOL mask (1 = kept). Kept elements are scaled by 1/(1-p) (as a float).
     * Outside training the output is the input and the mask is all ones.
     */
    static final class DropoutK implements CpuKernel {
        static float scale(double p) {
            return (float) (1.0 / (1.0 - p));
        }

        /** True when element i is kept: a uniform 24-bit draw u in [0, 1) with u >= p. */
        static boolean keep(long seed, int node, long i, double p) {
            long h = mix(seed ^ mix(0x9E3779B97F4A7C15L * (node + 1L)) ^ (i * 0xD1B54A32D192ED03L));
            double u = (h >>> 40) * 0x1.0p-24;
            return u >= p;
        }

        static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        @Override
        public void forward(ForwardArgs a) {
            double p = ((Dropout) a.node().op()).p();
            Buf x = a.in()[0], y = a.out()[0];
            Buf mask = a.aux() != null && a.aux().length > 0 ? a.aux()[0] : null;
            int n = x.numel();
            float[] xd = x.data(), yd = y.data();
            int xo = x.offset(), yo = y.offset();
            boolean train = a.training() && p > 0;
            float sc = scale(p);
            long seed = a.seed();
            int node = a.node().index();
            // chunks are multiples of 4 elements so that each mask slot (4 bytes) is written by one task
            Par.range((n + 3) / 4, K.GRAIN / 16, (s, e) -> {
                for (int w = s; w < e; w++) {
                    int bits = 0;
                    for (int j = 0; j < 4; j++) {
                        int i = 4 * w + j;
                        if (i >= n) break;
                        boolean k = !train || keep(seed, node, i, p);
                        if (k) bits |= 1 << (8 * j);
                        yd[yo + i] = train ? (k ? xd[xo + i] * sc : 0f) : xd[xo + i];
                    }
                    if (mask != null) mask.data()[mask.offset() + w] = Float.intBitsToFloat(bits);
                }
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            if (K.nothingToPropagate(a)) return;
            Buf gx = a.gradIn(0), gy = a.gradOut(0);
            boolean acc = a.accIn(0);
            double p = ((Dropout) a.node().op()).p();
            float sc = scale(p);
            Buf mask = a.need(a.aux(), 0, "aux");
            float[] gyd = gy.data(), gxd = gx.data();
            int go = gy.offset(), xo = gx.offset();
            Par.range(gx.numel(), K.GRAIN, (s, e) -> {
                for (int i = s; i < e; i++) K.put(gxd, xo + i, mask.getByte(i) != 0 ? gyd[go + i] * sc : 0f, acc);
            });
        }
    }
}

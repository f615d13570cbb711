package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;

import java.util.Arrays;

/** Small helpers shared by the kernels. */
final class K {
    private K() {
    }

    static final int GRAIN = 1 << 14;

    /**
     * tanh through exp (HotSpot's Math.exp is an intrinsic, several times faster than Math.tanh). In double the
     * form 1 - 2 / (e^2u + 1) loses about 2e-16 absolutely, a relative 2e-12 at |u| = 1e-4, far below a float's
     * precision; below that, u (1 - u^2 / 3) (the next term is 2u^5 / 15). It used Math.tanh below |u| = 0.5, and that
     * made the cost depend on the data: one thread, 47 ns a value for |u| < 0.4 against 18 ns for |u| < 3, so a
     * model whose activations were small (a freshly initialised transformer's GELU) ran its GELU 2-3x slower than
     * the calibration probes measured it. Deterministic: the same argument always gives the same result.
     */
    static double tanh(double u) {
        if (Math.abs(u) < 1e-4) return u * (1 - u * u / 3); // keeps the sign of -0
        double e = Math.exp(2 * u);
        return 1 - 2 / (e + 1);
    }

    /** Writes or adds a gradient element. */
    static void put(float[] d, int i, float v, boolean acc) {
        d[i] = acc ? d[i] + v : v;
    }

    /**
     * The cases of a one-input backward with nothing to compute: no input gradient is wanted, or the output's gradient
     * is absent (zero), which leaves a zero input gradient unless it accumulates. True when the kernel is done.
     */
    static boolean nothingToPropagate(BackwardArgs a) {
        return nothingToPropagate(a.gradOut(0), a.gradIn(0), a.accIn(0));
    }

    /** The same for one output gradient gy and one input gradient gx of any op. */
    static boolean nothingToPropagate(Buf gy, Buf gx, boolean acc) {
        if (gx == null) return true;
        if (gy != null) return false;
        if (!acc) zero(gx);
        return true;
    }

    /**
     * An op with one input and up to two parameters (weight, bias) whose output gradient gy is absent (zero): its
     * gradients are zeros unless they accumulate. True when gy is absent and the kernel is done.
     */
    static boolean zeroWithoutGradient(BackwardArgs a, Buf gy, Buf gx, Buf gw, Buf gb) {
        if (gy != null) return false;
        if (gx != null && !a.accIn(0)) zero(gx);
        if (gw != null && !a.accParam(0)) zero(gw);
        if (gb != null && !a.accParam(1)) zero(gb);
        return true;
    }

    static void zero(Buf b) {
        Arrays.fill(b.data(), b.offset(), b.offset() + b.slots(), 0f);
    }

    /** gx (+)= gy elementwise; a no-op when gx is gy itself and not accumulating. */
    static void copyGrad(Buf gy, Buf gx, boolean acc) {
        if (gx == null) return;
        int n = gx.numel();
        if (gy == null) {
            if (!acc) zero(gx);
            return;
        }
        if (gx.sameMemory(gy) && !acc) return;
        float[] s = gy.data(), d = gx.data();
        int so = gy.offset(), dOff = gx.offset();
        Par.range(n, GRAIN, (a, e) -> {
            if (acc) for (int i = a; i < e; i++) d[dOff + i] += s[so + i];
            else System.arraycopy(s, so + a, d, dOff + a, e - a);
        });
    }

    static float[] floats(Buf b) {
        return b.data();
    }

    static IllegalArgumentException bad(String op, String name, String msg) {
        return new IllegalArgumentException(op + " '" + name + "': " + msg);
    }

    /** A zeroed fp32 scratch buffer: the given workspace when it is large enough, else a new array. */
    static Buf scratch(Buf workspace, long elements) {
        if (workspace != null && workspace.dtype() == DType.FP32 && workspace.numel() >= elements)
            return workspace;
        return Buf.alloc(Shape.of((int) elements), DType.FP32);
    }

    private static final ThreadLocal<float[]> THREAD_SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * This thread's fp32 scratch of at least {@code elements} (not zeroed; reused by the next call on the thread),
     * for kernels that run parallel tasks each needing its own columns: allocating them per task cost more than the
     * arithmetic for small images. Outside the planned arena, like the per-task arrays it replaces.
     */
    static Buf threadScratch(long elements) {
        float[] s = THREAD_SCRATCH.get();
        if (s.length < elements) {
            s = new float[(int) elements];
            THREAD_SCRATCH.set(s);
        }
        return new Buf(s, 0, Shape.of((int) elements), DType.FP32);
    }
}

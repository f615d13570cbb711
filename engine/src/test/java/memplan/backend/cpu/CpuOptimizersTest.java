package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Optimizer steps against values computed by hand with PyTorch's formulas. */
class CpuOptimizersTest {
    private static Buf b(float... v) {
        return Buf.of(Shape.of(v.length), v);
    }

    @Test
    void sgdMomentum() {
        Buf p = b(1f, -2f), g = b(0.5f, 1f), m = Buf.alloc(Shape.of(2), DType.FP32);
        CpuOptimizers.sgd(p, g, m, 0.1);
        // step 1: buf = g; p -= 0.1 g
        assertEquals(0.95f, p.get(0), 1e-7f);
        assertEquals(-2.1f, p.get(1), 1e-7f);
        assertEquals(0.5f, m.get(0));
        CpuOptimizers.sgd(p, g, m, 0.1);
        // step 2: buf = 0.9 * 0.5 + 0.5 = 0.95; p = 0.95 - 0.095
        assertEquals(0.95f, m.get(0), 1e-7f);
        assertEquals(0.855f, p.get(0), 1e-6f);
        assertEquals(1.9f, m.get(1), 1e-6f);
        assertEquals(-2.1f - 0.19f, p.get(1), 1e-6f);
    }

    @Test
    void adamWithBiasCorrection() {
        Buf p = b(1f), g = b(0.5f), m = b(0f), v = b(0f);
        CpuOptimizers.adam(p, g, m, v, 0.01, 1);
        // t=1: m = 0.05, v = 0.00025; mhat = 0.5, vhat = 0.25 -> p -= 0.01 * 0.5 / (0.5 + 1e-8)
        assertEquals(0.05f, m.get(0), 1e-7f);
        assertEquals(0.00025f, v.get(0), 1e-9f);
        assertEquals(0.99f, p.get(0), 1e-6f);
        g.set(0, -1f);
        CpuOptimizers.adam(p, g, m, v, 0.01, 2);
        double m2 = 0.9 * 0.05 - 0.1, v2 = 0.999 * 0.00025 + 0.001;
        double mh = m2 / (1 - 0.81), vh = v2 / (1 - 0.999 * 0.999);
        assertEquals(m2, m.get(0), 1e-7);
        assertEquals(v2, v.get(0), 1e-9);
        assertEquals(0.99 - 0.01 * mh / (Math.sqrt(vh) + 1e-8), p.get(0), 1e-6);
    }
}

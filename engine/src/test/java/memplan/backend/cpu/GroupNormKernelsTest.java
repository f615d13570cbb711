package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.GroupNorm;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** GroupNorm: finite-difference gradients, and normalised groups (mean 0, variance 1) with a unit weight. */
class GroupNormKernelsTest {
    private static final int MAX = 24;

    @Test
    void gradients() {
        new CpuHarness(new GroupNorm(2, 1e-5, true), Shape.of(2, 4, 3, 3)).gradCheck(MAX);
        new CpuHarness(new GroupNorm(3, 1e-5, false), Shape.of(2, 6, 5)).gradCheck(MAX);
        new CpuHarness(new GroupNorm(4, 1e-5, true), Shape.of(1, 4, 2, 2, 2)).gradCheck(MAX); // instance norm
    }

    @Test
    void eachGroupIsNormalised() {
        CpuHarness h = new CpuHarness(new GroupNorm(2, 1e-5, true), Shape.of(2, 4, 3, 3));
        h.params[0].fill(1f);
        h.params[1].fill(0f);
        h.forward();
        int size = 2 * 9;
        for (int ng = 0; ng < 4; ng++) {
            double sum = 0, sq = 0, inSum = 0;
            for (int i = 0; i < size; i++) {
                double v = h.out[0].get(ng * size + i);
                sum += v;
                sq += v * v;
                inSum += h.in[0].get(ng * size + i);
            }
            assertEquals(0, sum / size, 1e-5);
            assertEquals(1, sq / size, 1e-3);
            assertEquals(inSum / size, h.aux[0].get(ng), 1e-5, "saved mean of (image, group) " + ng);
        }
    }
}

package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.AvgPool2d;
import memplan.ops.AvgPool3d;
import memplan.ops.Conv2d;
import memplan.ops.Conv3d;
import memplan.ops.MaxPool2d;
import memplan.ops.MaxPool3d;
import memplan.ops.Pair;
import memplan.ops.Triple;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The 3-D kernels: gradients against finite differences, and on a volume of depth 1 with a kernel of depth 1 the
 * same numbers as the 2-D kernels (which have their own reference tests).
 */
class Spatial3dKernelsTest {
    private static final int MAX = 24;

    private static Shape s(int... d) {
        return Shape.of(d);
    }

    @Test
    void conv3dGradients() {
        new CpuHarness(Conv3d.of(3, 3, 1, 1, true), s(2, 2, 3, 4, 4)).gradCheck(MAX);
        Conv3d odd = new Conv3d(4, new Triple(2, 3, 1), new Triple(2, 1, 2), new Triple(1, 1, 0),
                new Triple(1, 2, 1), 2, false);
        new CpuHarness(odd, s(1, 4, 4, 5, 4)).gradCheck(MAX);
    }

    @Test
    void pool3dGradients() {
        CpuHarness h = new CpuHarness(new MaxPool3d(Triple.of(3), Triple.of(2), Triple.of(1)), s(2, 2, 4, 5, 5));
        CpuGradientTest.distinct(h.in[0], h.rnd);
        h.gradCheck(MAX);
        new CpuHarness(new AvgPool3d(Triple.of(3), Triple.of(2), Triple.of(1)), s(2, 2, 4, 5, 5)).gradCheck(MAX);
        new CpuHarness(new AvgPool3d(new Triple(1, 2, 2), new Triple(1, 2, 2), Triple.of(0)), s(1, 2, 3, 4, 4))
                .gradCheck(MAX);
    }

    /** Runs a 3-D and a 2-D op on the same numbers (depth 1) and compares outputs and, for max, indices. */
    private static void sameAs2d(CpuHarness h3, CpuHarness h2) {
        for (int i = 0; i < h2.in[0].numel(); i++) h3.in[0].set(i, h2.in[0].get(i));
        for (int p = 0; p < h2.params.length; p++)
            for (int i = 0; i < h2.params[p].numel(); i++) h3.params[p].set(i, h2.params[p].get(i));
        h2.forward();
        h3.forward();
        assertEquals(h2.out[0].numel(), h3.out[0].numel());
        assertArrayEquals(h2.out[0].toArray(), h3.out[0].toArray(), 1e-5f);
        for (int i = 0; i < h2.aux.length; i++)
            for (int k = 0; k < h2.aux[i].numel(); k++) assertEquals(h2.aux[i].getLong(k), h3.aux[i].getLong(k));
    }

    @Test
    void depthOneMatchesThe2dKernels() {
        sameAs2d(new CpuHarness(new Conv3d(6, new Triple(1, 3, 2), new Triple(1, 2, 1), new Triple(0, 1, 1),
                        new Triple(1, 1, 2), 3, true), s(2, 3, 1, 7, 6)),
                new CpuHarness(new Conv2d(6, new Pair(3, 2), new Pair(2, 1), new Pair(1, 1), new Pair(1, 2), 3, true),
                        s(2, 3, 7, 6)));
        sameAs2d(new CpuHarness(new MaxPool3d(new Triple(1, 3, 3), new Triple(1, 2, 2), new Triple(0, 1, 1)),
                        s(2, 2, 1, 7, 7)),
                new CpuHarness(new MaxPool2d(Pair.of(3), Pair.of(2), Pair.of(1)), s(2, 2, 7, 7)));
        sameAs2d(new CpuHarness(new AvgPool3d(new Triple(1, 3, 3), new Triple(1, 2, 2), new Triple(0, 1, 1)),
                        s(2, 2, 1, 7, 7)),
                new CpuHarness(new AvgPool2d(Pair.of(3), Pair.of(2), Pair.of(1)), s(2, 2, 7, 7)));
    }
}

package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.Conv2d;
import memplan.ops.MaxPool2d;
import memplan.ops.Pair;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Property tests (jqwik, fixed seeds): GEMM against a double-precision reference over random sizes, transposes,
 * leading dimensions and accumulate; convolution gradients over random geometries.
 */
class CpuPropertiesTest {

    @Property(tries = 60, seed = "12345")
    void gemmMatchesReference(@ForAll @IntRange(min = 1, max = 140) int m, @ForAll @IntRange(min = 1, max = 300) int n,
                              @ForAll @IntRange(min = 0, max = 300) int k, @ForAll boolean ta, @ForAll boolean tb,
                              @ForAll boolean acc, @ForAll @IntRange(min = 0, max = 3) int pad) {
        Random r = new Random(m * 31L + n * 7L + k);
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        int aRows = ta ? k : m, bRows = tb ? n : k;
        float[] a = new float[3 + aRows * lda], b = new float[2 + bRows * ldb], c = new float[1 + m * ldc];
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
        for (int i = 0; i < c.length; i++) c[i] = r.nextFloat() - 0.5f;
        float[] c0 = c.clone();
        Gemm.gemm(m, n, k, a, 3, lda, ta, b, 2, ldb, tb, c, 1, ldc, acc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++) {
                int at = 1 + i * ldc + j;
                if (j >= n) {
                    assertEquals(c0[at], c[at], "padding column written");
                    continue;
                }
                double s = acc ? c0[at] : 0;
                for (int kk = 0; kk < k; kk++)
                    s += (double) (ta ? a[3 + kk * lda + i] : a[3 + i * lda + kk]) * (tb ? b[2 + j * ldb + kk] : b[2 + kk * ldb + j]);
                assertEquals(s, c[at], 1e-4 * (1 + Math.sqrt(k)), "C(" + i + "," + j + ")");
            }
        assertEquals(c0[0], c[0]);
    }

    @Property(tries = 15, seed = "777")
    void convGradients(@ForAll @IntRange(min = 1, max = 2) int groups, @ForAll @IntRange(min = 1, max = 3) int kh,
                       @ForAll @IntRange(min = 1, max = 3) int kw, @ForAll @IntRange(min = 1, max = 2) int stride,
                       @ForAll @IntRange(min = 0, max = 1) int pad, @ForAll @IntRange(min = 1, max = 2) int dil,
                       @ForAll boolean bias, @ForAll @IntRange(min = 1, max = 2) int batch) {
        Conv2d op = new Conv2d(2 * groups, new Pair(kh, kw), Pair.of(stride), Pair.of(pad), Pair.of(dil), groups, bias);
        new CpuHarness(op, Shape.of(batch, 2 * groups, 6, 5)).gradCheck(10);
    }

    @Property(tries = 10, seed = "99")
    void maxPoolGradients(@ForAll @IntRange(min = 1, max = 3) int k, @ForAll @IntRange(min = 1, max = 3) int stride) {
        int pad = k / 2;
        CpuHarness h = new CpuHarness(new MaxPool2d(Pair.of(k), Pair.of(stride), Pair.of(pad)), Shape.of(2, 2, 6, 5));
        CpuGradientTest.distinct(h.in[0], h.rnd);
        h.gradCheck(10);
    }
}

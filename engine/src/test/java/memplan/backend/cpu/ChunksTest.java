package memplan.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Chunks gives exactly what the plain loop over the arena gives, across chunk edges and in place. */
class ChunksTest {
    private static float[] arena(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextInt(9) == 0 ? -0f : (float) r.nextGaussian() * 3;
        a[7] = Float.NaN;
        return a;
    }

    @Test
    void threeOperandsAcrossChunkEdgesMatchThePlainLoopBitForBit() {
        int n = 2 * Chunks.SIZE + 123, s = 5, e = n - 9;
        float[] arena = arena(4 * n + 40, 1), want = arena.clone();
        int x0 = 3, x1 = n + 11, x2 = 2 * n + 17, y = 3 * n + 23;
        float mu = 0.3f, sc = 1.7f;
        for (int i = s; i < e; i++)
            want[y + i] = want[x0 + i] + sc * (want[x1 + i] - mu) * want[x2 + i];
        Chunks.map(arena, y, arena, x0, arena, x1, arena, x2, s, e, (a, b, c, len) -> {
            for (int k = 0; k < len; k++) a[k] = a[k] + sc * (b[k] - mu) * c[k];
        });
        for (int i = 0; i < arena.length; i++)
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(arena[i]), "element " + i);
    }

    @Test
    void inPlaceAndWithoutLoadingTheResultChunk() {
        int n = 3 * Chunks.SIZE + 1;
        float[] arena = arena(n, 2), want = arena.clone();
        for (int i = 0; i < n; i++) want[i] = Math.max(want[i], 0f);
        Chunks.map(arena, 0, arena, 0, null, 0, null, 0, 0, n, (a, b, c, len) -> {
            for (int k = 0; k < len; k++) a[k] = Math.max(a[k], 0f);
        });
        assertArrayEquals(want, arena);
        // a result chunk that is not loaded is only written: what the loop leaves there is all that lands
        float[] out = new float[n], src = arena(n, 3);
        Arrays.fill(out, 42f);
        Chunks.map(out, 0, null, 0, src, 0, null, 0, 1, n - 1, (a, b, c, len) -> {
            for (int k = 0; k < len; k++) a[k] = 2 * b[k];
        });
        assertEquals(42f, out[0]);
        assertEquals(42f, out[n - 1]);
        for (int i = 1; i < n - 1; i++) assertEquals(Float.floatToRawIntBits(2 * src[i]),
                Float.floatToRawIntBits(out[i]), "element " + i);
    }
}

package memplan.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link Gemm} against a double-precision reference for every transpose combination, at offsets and leading
 * dimensions inside a larger array (as tensors sit in the arena), accumulating or not; and bit-identical across
 * 1, 2 and 4 threads and between the parallel and sequential entry points. On linux-x86_64 the larger shapes go
 * through OpenBLAS ({@link OpenBlasGemm}), the smaller ones through the Java kernel.
 */
class GemmTest {
    private record Case(int m, int n, int k, boolean ta, boolean tb, boolean acc) {
    }

    private static final Case[] CASES = {
        new Case(3, 5, 7, false, false, false), // Java kernel (tiny)
        new Case(130, 70, 300, false, true, false),
        new Case(300, 129, 70, true, false, true),
        new Case(64, 640, 96, true, true, false),
        new Case(257, 255, 513, false, false, true),
        new Case(1000, 40, 600, false, true, true),
        new Case(700, 130, 1600, false, true, true), // OpenBLAS: four tiles of rows
        new Case(150, 900, 1100, true, false, false), // OpenBLAS: four tiles of columns, the last one short
    };

    /** The operands inside a bigger array with padding columns, at a nonzero offset, as in the arena. */
    private record Operands(float[] arena, int aOff, int lda, int bOff, int ldb, int cOff, int ldc) {
        static Operands of(Case t, long seed) {
            int aRows = t.ta ? t.k : t.m, aCols = t.ta ? t.m : t.k;
            int bRows = t.tb ? t.n : t.k, bCols = t.tb ? t.k : t.n;
            int lda = aCols + 3, ldb = bCols + 1, ldc = t.n + 5;
            int aOff = 11, bOff = aOff + aRows * lda + 7, cOff = bOff + bRows * ldb + 13;
            float[] arena = new float[cOff + t.m * ldc + 17];
            Random r = new Random(seed);
            for (int i = 0; i < arena.length; i++) arena[i] = r.nextFloat() - 0.5f;
            return new Operands(arena, aOff, lda, bOff, ldb, cOff, ldc);
        }

        float a(Case t, int i, int kk) {
            return t.ta ? arena[aOff + kk * lda + i] : arena[aOff + i * lda + kk];
        }

        float b(Case t, int kk, int j) {
            return t.tb ? arena[bOff + j * ldb + kk] : arena[bOff + kk * ldb + j];
        }
    }

    /** Which entry point a run goes through: Gemm.gemm, Gemm.gemmSeq, or the pure-Java kernel in parallel. */
    private enum Entry { PARALLEL, SEQUENTIAL, JAVA }

    private static float[] run(Case t, Operands o, boolean parallel) {
        return run(t, o, parallel ? Entry.PARALLEL : Entry.SEQUENTIAL);
    }

    private static float[] run(Case t, Operands o, Entry entry) {
        float[] arena = o.arena.clone();
        if (entry == Entry.JAVA) Gemm.gemmJava(t.m, t.n, t.k, arena, o.aOff, o.lda, t.ta, arena, o.bOff, o.ldb, t.tb,
                arena, o.cOff, o.ldc, t.acc, true);
        else if (entry == Entry.PARALLEL) Gemm.gemm(t.m, t.n, t.k, arena, o.aOff, o.lda, t.ta, arena, o.bOff, o.ldb, t.tb, arena,
                o.cOff, o.ldc, t.acc);
        else Gemm.gemmSeq(t.m, t.n, t.k, arena, o.aOff, o.lda, t.ta, arena, o.bOff, o.ldb, t.tb, arena,
                o.cOff, o.ldc, t.acc);
        return arena;
    }

    private static <T> T inPool(int threads, Callable<T> body) throws Exception {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            return pool.submit(body).get();
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void matchesDoublePrecisionReferenceAndLeavesTheRestOfTheArena() {
        for (Entry e : new Entry[] {Entry.PARALLEL, Entry.JAVA}) checkAgainstReference(e);
    }

    private static void checkAgainstReference(Entry entry) {
        for (Case t : CASES) {
            Operands o = Operands.of(t, 7);
            float[] got = run(t, o, entry);
            for (int i = 0; i < t.m; i++)
                for (int j = 0; j < t.n; j++) {
                    double s = t.acc ? o.arena[o.cOff + i * o.ldc + j] : 0, mag = Math.abs(s);
                    for (int kk = 0; kk < t.k; kk++) {
                        double p = (double) o.a(t, i, kk) * o.b(t, kk, j);
                        s += p;
                        mag += Math.abs(p);
                    }
                    float v = got[o.cOff + i * o.ldc + j];
                    if (Math.abs(v - s) > 1e-5 * mag + 1e-6)
                        fail(entry + " " + t + ": C(" + i + "," + j + ") = " + v + ", expected " + s);
                }
            // everything outside C (operands, padding columns, the rest) is untouched
            for (int x = 0; x < got.length; x++) {
                int rel = x - o.cOff;
                boolean inC = rel >= 0 && rel < t.m * o.ldc && rel % o.ldc < t.n;
                if (!inC) assertEquals(Float.floatToRawIntBits(o.arena[x]), Float.floatToRawIntBits(got[x]),
                        t + ": slot " + x + " outside C changed");
            }
        }
    }

    @Test
    void bitIdenticalAcrossThreadCountsAndEntryPoints() throws Exception {
        for (Case t : CASES) {
            Operands o = Operands.of(t, 3);
            float[] ref = run(t, o, true);
            assertArrayEquals(ref, run(t, o, true), t + ": second run differs");
            assertArrayEquals(ref, run(t, o, false), t + ": sequential entry point differs");
            for (int threads : new int[] {1, 2, 4})
                assertArrayEquals(ref, inPool(threads, () -> run(t, o, true)), t + ": " + threads + " threads differ");
            // the pure-Java fallback is deterministic across thread counts too
            float[] java = run(t, o, Entry.JAVA);
            for (int threads : new int[] {1, 4})
                assertArrayEquals(java, inPool(threads, () -> run(t, o, Entry.JAVA)), t + ": Java kernel, "
                        + threads + " threads differ");
        }
    }

    @Test
    void largeProductsAreCutIntoTilesFixedByTheirShape() {
        assertEquals(4, OpenBlasGemm.tiles(700, 130, 1600));
        assertEquals(4, OpenBlasGemm.tiles(150, 900, 1100));
        assertEquals(4, OpenBlasGemm.tiles(64, 576, 25088)); // a weight gradient: long K, small C
        assertEquals(2, OpenBlasGemm.tiles(64, 147, 100352));
        assertEquals(4, OpenBlasGemm.tiles(1024, 1024, 1024));
        assertEquals(1, OpenBlasGemm.tiles(300, 129, 70));
        assertEquals(4, OpenBlasGemm.tiles(2048, 2048, 2048)); // tiles of about 1024 x 1024
        // a multiple of four where the sides allow, so that 2 and 4 threads get equal shares
        assertEquals(8, OpenBlasGemm.tiles(4608, 392, 512)); // a convolution's data gradient
        assertEquals(28, OpenBlasGemm.tiles(64, 25088, 576)); // a convolution's forward over 8 images
    }

    @Test
    void reportsWhichImplementationRuns() {
        String impl = Gemm.implementation();
        if (Gemm.nativeLibrary()) {
            assertTrue(impl.startsWith("OpenBLAS 0.3"), impl);
            assertTrue(OpenBlasGemm.takes(256, 256, 256), "a 256^3 product goes to OpenBLAS");
        } else {
            assertTrue(impl.startsWith("pure Java ("), impl);
            assertTrue(!OpenBlasGemm.takes(256, 256, 256), "nothing goes to an OpenBLAS that did not load");
        }
        assertTrue(!OpenBlasGemm.takes(3, 5, 7), "tiny products stay in Java");
        if (System.getProperty("os.name", "").equals("Linux") && System.getProperty("os.arch", "").equals("amd64")
                && !"java".equals(System.getProperty("memplan.cpu.gemm")))
            assertTrue(Gemm.nativeLibrary(), "OpenBLAS should load on linux-x86_64: " + impl);
    }
}

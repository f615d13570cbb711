package memplan.backend.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

import java.nio.FloatBuffer;
import java.util.Locale;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

/**
 * {@link Gemm}'s product through OpenBLAS's {@code cblas_sgemm} (org.bytedeco:openblas, DYNAMIC_ARCH: it picks the
 * kernel for the CPU at load; {@code OPENBLAS_CORETYPE=SkylakeX} forces one, {@code OPENBLAS_VERBOSE=2} prints it).
 * <p>
 * The arena is a Java {@code float[]}, which JavaCPP can only hand to native code whole and copied, so each
 * product stages its operands: op(A) and op(B) are copied compactly (as stored, the transpose flags go to BLAS),
 * and C (only when accumulating) into this thread's off-heap buffer, then C is copied back to its place in the
 * arena. The staging holds at most the largest product's operands per thread and is outside the planned arena
 * (docs/cpu-backend.md says how it is accounted).
 * <p>
 * OpenBLAS runs single-threaded; C is cut into tiles whose count and size depend only on the shape, each one
 * {@code cblas_sgemm} call over the whole K, run in parallel by {@link Par}. So every element is computed by the
 * same call whatever the thread count, and K is never split across threads: results are bit-identical for 1, 2
 * or 16 threads, and for {@link Gemm#gemm} and {@link Gemm#gemmSeq}.
 */
final class OpenBlasGemm {
    /** Products with fewer multiply-adds than this stay in Java, where a call costs less than the staging. */
    static final long MIN_WORK = 1L << 14;
    /** Larger products (operand floats) stay in Java too, so the staging outside the arena stays bounded. */
    static final long MAX_STAGED_FLOATS = 1L << 27;
    /**
     * Products with at least this much work (multiply-adds) are cut into tiles of C of about TILE x TILE: each
     * tile packs its rows of A and columns of B again, about 1/TILE of its arithmetic for each, and a call with a
     * short K (a convolution's data gradient: K = output channels) spends more of its time on C the smaller the
     * tile. 1024 ran the data-gradient shapes of ResNet-18 at 1.3-1.5x the speed 512 gave, the others no slower.
     */
    private static final long TILE_WORK = 1L << 26;
    private static final int TILE = 1024, MIN_TILES = 4;

    private static final String UNAVAILABLE = probe();
    private static final ThreadLocal<Staging> STAGING = ThreadLocal.withInitial(Staging::new);

    private OpenBlasGemm() {
    }

    /** Loads OpenBLAS unless {@code memplan.cpu.gemm=java} (or MEMPLAN_CPU_GEMM=java); null when loaded. */
    private static String probe() {
        String want = System.getProperty("memplan.cpu.gemm", System.getenv().getOrDefault("MEMPLAN_CPU_GEMM", "auto"));
        if (want.toLowerCase(Locale.ROOT).equals("java")) return "pure Java GEMM requested (memplan.cpu.gemm=java)";
        if (!System.getProperty("os.arch", "").equals("amd64") || !System.getProperty("os.name", "").equals("Linux"))
            return "OpenBLAS natives are bundled for linux-x86_64 only";
        try {
            Loader.load(openblas_nolapack.class);
            blas_set_num_threads(1);
            float[] a = {1, 2, 3, 4}, b = {5, 6, 7, 8}, c = new float[4];
            FloatPointer p = new FloatPointer(12);
            try {
                p.put(a, 0, 4).position(4).put(b, 0, 4).position(0);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1f, p, 2,
                        new FloatPointer(p).position(4), 2, 0f, new FloatPointer(p).position(8), 2);
                p.position(8).get(c, 0, 4);
            } finally {
                p.close();
            }
            if (c[0] != 19 || c[1] != 22 || c[2] != 43 || c[3] != 50) return "OpenBLAS gave a wrong 2x2 product";
            return null;
        } catch (LinkageError | RuntimeException e) {
            return "OpenBLAS could not load (" + e.getClass().getSimpleName() + ")";
        }
    }

    /** The bundled library's version, e.g. 0.3.31. */
    static String version() {
        return openblas_nolapack.OPENBLAS_VERSION.replace("OpenBLAS", "").trim();
    }

    static boolean available() {
        return UNAVAILABLE == null;
    }

    /** Why the pure-Java GEMM is used, or null when OpenBLAS is. */
    static String unavailableReason() {
        return UNAVAILABLE;
    }

    /** Whether a product of this shape goes to OpenBLAS (a function of the shape only, so of no thread count). */
    static boolean takes(int m, int n, int k) {
        long staged = (long) m * k + (long) k * n + (long) m * n;
        return UNAVAILABLE == null && (long) m * n * k >= MIN_WORK && staged <= MAX_STAGED_FLOATS;
    }

    static void gemm(int m, int n, int k, float[] a, int aOff, int lda, boolean transA,
                     float[] b, int bOff, int ldb, boolean transB, float[] c, int cOff, int ldc,
                     boolean accumulate, boolean parallel) {
        // op(A) as stored: M rows of K (or K rows of M when transposed), now with leading dimension K (or M)
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        long aLen = (long) m * k, bLen = (long) k * n;
        FloatBuffer buf = stage(aLen + bLen + (long) m * n);
        int bBase = (int) aLen, cBase = (int) (aLen + bLen);
        // both operands' rows in one parallel pass (one hand-off instead of two)
        copy(parallel, aRows + bRows, (int) ((aLen + bLen) / Math.max(1, aRows + bRows)), r -> {
            if (r < aRows) buf.put(r * aCols, a, aOff + r * lda, aCols);
            else buf.put(bBase + (r - aRows) * bCols, b, bOff + (r - aRows) * ldb, bCols);
        });
        if (tiles(m, n, k) == 1) {
            if (accumulate) copy(parallel, m, n, r -> buf.put(cBase + r * n, c, cOff + r * ldc, n));
            multiply(m, n, k, transA, 0, transB, bBase, cBase, accumulate, parallel);
            copy(parallel, m, n, r -> buf.get(cBase + r * n, c, cOff + r * ldc, n));
            return;
        }
        // each tile brings its block of C in (when accumulating) and out itself, on its own thread, so the copy
        // back overlaps the other tiles' arithmetic instead of following all of it
        Tile in = accumulate ? (i0, j0, rows, cols) -> {
            for (int r = i0; r < i0 + rows; r++) buf.put(cBase + r * n + j0, c, cOff + r * ldc + j0, cols);
        } : null;
        Tile out = (i0, j0, rows, cols) -> {
            for (int r = i0; r < i0 + rows; r++) buf.get(cBase + r * n + j0, c, cOff + r * ldc + j0, cols);
        };
        multiply(m, n, k, transA, 0, transB, bBase, cBase, accumulate, parallel, in, out);
    }

    /** Work on one tile of C (rows i0.., columns j0..) beside its product: its block's copy in or out. */
    private interface Tile {
        void run(int i0, int j0, int rows, int cols);
    }

    /**
     * This thread's staging, at least {@code floats} long, for a caller that lays out several products' operands
     * itself ({@link #multiply}); what it held before is lost when it has to grow.
     */
    static FloatBuffer stage(long floats) {
        Staging s = STAGING.get();
        s.reserve(floats);
        return s.buffer;
    }

    /**
     * C (+)= op(A) op(B) on operands already in this thread's staging (see {@link #stage}): op(A) compact at slot
     * {@code aAt} (M x K as stored, or K x M when transposed), op(B) at {@code bAt} (K x N, or N x K), C (M x N)
     * at {@code cAt}, which is read only when accumulating. Tiles of C as {@link #tileSides} gives them, each one
     * call over the whole K.
     */
    static void multiply(int m, int n, int k, boolean transA, long aAt, boolean transB, long bAt, long cAt,
                         boolean accumulate, boolean parallel) {
        multiply(m, n, k, transA, aAt, transB, bAt, cAt, accumulate, parallel, null, null);
    }

    /**
     * {@code count} products of one shape on operands already in this thread's staging, as {@link #multiply}
     * lays one out, the i-th at {@code aAt + i*aStride}, {@code bAt + i*bStride}, {@code cAt + i*cStride}: all
     * their tiles run in parallel (each tile one call over the whole K, as for one product), so a batch of small
     * products (a Winograd convolution's 36) keeps every thread busy and no result depends on the thread count.
     */
    static void multiplyBatch(int count, int m, int n, int k, boolean transA, long aAt, long aStride, boolean transB,
                              long bAt, long bStride, long cAt, long cStride, boolean accumulate) {
        multiply(count, m, n, k, transA, aAt, aStride, transB, bAt, bStride, cAt, cStride, accumulate, true, null,
                null);
    }

    private static void multiply(int m, int n, int k, boolean transA, long aAt, boolean transB, long bAt, long cAt,
                                 boolean accumulate, boolean parallel, Tile before, Tile after) {
        multiply(1, m, n, k, transA, aAt, 0, transB, bAt, 0, cAt, 0, accumulate, parallel, before, after);
    }

    /**
     * The products of {@link #multiplyBatch}, or one with {@code before} and {@code after} run on each of its tiles
     * (their corners relative to the product).
     */
    private static void multiply(int count, int m, int n, int k, boolean transA, long aAt, long aStride,
                                 boolean transB, long bAt, long bStride, long cAt, long cStride, boolean accumulate,
                                 boolean parallel, Tile before, Tile after) {
        int aCols = transA ? m : k, bCols = transB ? k : n;
        // tiles of C, each one call over the whole K; a tile packs only its rows of A and its columns of B
        int[] sides = tileSides(m, n, k);
        int tm = sides[0], tn = sides[1], colTiles = (n + tn - 1) / tn, per = ((m + tm - 1) / tm) * colTiles;
        FloatPointer base = STAGING.get().pointer;
        int ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
        float beta = accumulate ? 1f : 0f;
        Par.Item tile = t -> {
            int p = t / per, r = t % per, i0 = (r / colTiles) * tm, j0 = (r % colTiles) * tn;
            // A(i, 0) is at i*K (row-major) or i (transposed); B(0, j) at j (row-major) or j*K (transposed)
            long ai = transA ? i0 : (long) i0 * k, bj = transB ? (long) j0 * k : j0;
            int rows = Math.min(tm, m - i0), cols = Math.min(tn, n - j0);
            if (before != null) before.run(i0, j0, rows, cols);
            cblas_sgemm(CblasRowMajor, ta, tb, rows, cols, k, 1f, at(base, aAt + p * aStride + ai), aCols,
                    at(base, bAt + p * bStride + bj), bCols, beta, at(base, cAt + p * cStride + (long) i0 * n + j0), n);
            if (after != null) after.run(i0, j0, rows, cols);
        };
        int tiles = count * per;
        if (parallel && tiles > 1) Par.each(tiles, tile);
        else for (int t = 0; t < tiles; t++) tile.run(t);
    }

    /**
     * Rows and columns of a tile of an M x N x K product, a function of the shape only: about TILE x TILE, at
     * least MIN_TILES tiles (and a multiple of it) where the sides allow tiles of 64 or more (a product with a long
     * K and a small C would otherwise run on one thread), sides even across the tiles and multiples of 16.
     */
    static int[] tileSides(int m, int n, int k) {
        if ((long) m * n * k < TILE_WORK) return new int[] {m, n};
        int rt = (m + TILE - 1) / TILE, ct = (n + TILE - 1) / TILE;
        // at least MIN_TILES tiles, and a multiple of MIN_TILES where the sides allow, so that 2 or 4 threads get
        // the same number of tiles each
        while (rt * ct < MIN_TILES || (rt * ct) % MIN_TILES != 0) {
            int sr = (m + rt - 1) / rt, sc = (n + ct - 1) / ct;
            if (sr >= sc && sr >= 128) rt++;
            else if (sc >= 128) ct++;
            else if (sr >= 128) rt++;
            else break;
        }
        return new int[] {Math.min(m, ((m + rt - 1) / rt + 15) / 16 * 16),
                Math.min(n, ((n + ct - 1) / ct + 15) / 16 * 16)};
    }

    /** How many tiles (calls) an M x N x K product is cut into. */
    static int tiles(int m, int n, int k) {
        int[] t = tileSides(m, n, k);
        return ((m + t[0] - 1) / t[0]) * ((n + t[1] - 1) / t[1]);
    }

    /** Runs a row copy for each of {@code rows} rows, in parallel when asked and there is enough to copy. */
    static void copy(boolean parallel, int rows, int cols, Par.Item row) {
        if (parallel && (long) rows * cols >= 1 << 18)
            Par.range(rows, Math.max(1, (1 << 16) / Math.max(1, cols)), (s, e) -> {
                for (int r = s; r < e; r++) row.run(r);
            });
        else for (int r = 0; r < rows; r++) row.run(r);
    }

    /** A view (owning nothing, so never freed) of float slot {@code at} of a staging area. */
    private static FloatPointer at(FloatPointer base, long at) {
        return new FloatPointer(base).position(at);
    }

    /** One thread's off-heap operands; grows to the largest product it has staged. */
    private static final class Staging {
        FloatPointer pointer;
        FloatBuffer buffer;
        long capacity;

        void reserve(long floats) {
            if (floats <= capacity) return;
            long want = Math.max(floats, Math.min(MAX_STAGED_FLOATS, capacity * 2));
            if (pointer != null) pointer.close();
            pointer = new FloatPointer(want);
            buffer = pointer.asBuffer();
            capacity = want;
        }
    }
}

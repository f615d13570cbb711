package memplan.backend.cpu;

import java.util.Arrays;

/**
 * Blocked, transpose-aware single-precision matrix multiply: C (+)= op(A) op(B), op(A) M x K, op(B) K x N,
 * all row-major with leading dimensions. A(i,k) = transA ? a[aOff + k*lda + i] : a[aOff + i*lda + k];
 * B(k,j) = transB ? b[bOff + j*ldb + k] : b[bOff + k*ldb + j]; C(i,j) = c[cOff + i*ldc + j].
 * <p>
 * Products big enough go to OpenBLAS when it loads ({@link OpenBlasGemm}); the rest, and all of them where it
 * cannot load, run here in Java:
 * C is cut into fixed MB x NB tiles that run in parallel; each tile walks K in fixed KB blocks, packing the A and
 * B blocks into contiguous row-major scratch, then adds into C with a 4-row register-blocked kernel. Every C
 * element is summed over k in increasing order, so results do not depend on the thread count or on whether the
 * call runs in parallel. C must not overlap A or B.
 */
public final class Gemm {
    static final int MB = 64, NB = 256, KB = 256;

    private Gemm() {
    }

    public static void gemm(int m, int n, int k, float[] a, int aOff, int lda, boolean transA,
                            float[] b, int bOff, int ldb, boolean transB, float[] c, int cOff,
                                    int ldc, boolean accumulate) {
        run(m, n, k, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc, accumulate, true);
    }

    /** The same product on the calling thread only (for callers that parallelise over independent products). */
    public static void gemmSeq(int m, int n, int k, float[] a, int aOff, int lda, boolean transA,
                               float[] b, int bOff, int ldb, boolean transB, float[] c, int cOff,
                                       int ldc, boolean accumulate) {
        run(m, n, k, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc, accumulate, false);
    }

    /** The product with the pure-Java kernel whatever its size (the fallback where OpenBLAS cannot load). */
    static void gemmJava(int m, int n, int k, float[] a, int aOff, int lda, boolean transA,
                         float[] b, int bOff, int ldb, boolean transB, float[] c, int cOff, int ldc,
                         boolean accumulate, boolean parallel) {
        java(m, n, k, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc, accumulate, parallel);
    }

    /** Which implementation large products use: OpenBLAS, or the pure-Java kernel below and why. */
    public static String implementation() {
        return OpenBlasGemm.available() ? "OpenBLAS " + OpenBlasGemm.version() + " sgemm"
                : "pure Java (" + OpenBlasGemm.unavailableReason() + ")";
    }

    /** Whether products large enough go to OpenBLAS. */
    public static boolean nativeLibrary() {
        return OpenBlasGemm.available();
    }

    /** Whether one M x N x K product goes to OpenBLAS (else it runs in Java): a function of the shape only. */
    public static boolean runsNative(int m, int n, int k) {
        return OpenBlasGemm.takes(m, n, k);
    }

    private static void run(int m, int n, int k, float[] a, int aOff, int lda, boolean transA,
                            float[] b, int bOff, int ldb, boolean transB, float[] c, int cOff, int ldc,
                            boolean accumulate, boolean parallel) {
        if (m <= 0 || n <= 0) return;
        if (k > 0 && OpenBlasGemm.takes(m, n, k)) {
            OpenBlasGemm.gemm(m, n, k, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc, accumulate, parallel);
            return;
        }
        java(m, n, k, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc, accumulate, parallel);
    }

    private static void java(int m, int n, int k, float[] a, int aOff, int lda, boolean transA,
                             float[] b, int bOff, int ldb, boolean transB, float[] c, int cOff, int ldc,
                             boolean accumulate, boolean parallel) {
        if (m <= 0 || n <= 0) return;
        if (!accumulate) for (int i = 0; i < m; i++) Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
        if (k <= 0) return;
        int mt = (m + MB - 1) / MB, nt = (n + NB - 1) / NB;
        int tiles = mt * nt;
        Par.Item tile = t -> {
            int i0 = (t / nt) * MB, j0 = (t % nt) * NB;
            int mc = Math.min(MB, m - i0), nc = Math.min(NB, n - j0);
            int kmax = Math.min(KB, k);
            float[] ap = new float[mc * kmax];
            float[][] bp = new float[kmax][nc];
            for (int k0 = 0; k0 < k; k0 += KB) {
                int kc = Math.min(KB, k - k0);
                packA(a, aOff, lda, transA, i0, mc, k0, kc, ap);
                packB(b, bOff, ldb, transB, k0, kc, j0, nc, bp);
                kernel(ap, bp, mc, nc, kc, c, cOff + i0 * ldc + j0, ldc);
            }
        };
        if (parallel && tiles > 1 && (long) m * n * k > 1L << 15) Par.each(tiles, tile);
        else for (int t = 0; t < tiles; t++) tile.run(t);
    }

    /** ap[i*kc + kk] = A(i0+i, k0+kk). */
    private static void packA(float[] a, int aOff, int lda, boolean transA, int i0, int mc,
            int k0, int kc, float[] ap) {
        if (!transA) {
            for (int i = 0; i < mc; i++) System.arraycopy(a, aOff + (i0 + i) * lda + k0, ap, i * kc, kc);
        } else {
            for (int kk = 0; kk < kc; kk++) {
                int src = aOff + (k0 + kk) * lda + i0;
                for (int i = 0; i < mc; i++) ap[i * kc + kk] = a[src + i];
            }
        }
    }

    /** bp[kk][j] = B(k0+kk, j0+j): one array per row, so the inner loops index from 0 (which C2 vectorizes). */
    private static void packB(float[] b, int bOff, int ldb, boolean transB, int k0, int kc,
            int j0, int nc, float[][] bp) {
        if (!transB) {
            for (int kk = 0; kk < kc; kk++) System.arraycopy(b, bOff + (k0 + kk) * ldb + j0, bp[kk], 0, nc);
        } else {
            for (int j = 0; j < nc; j++) {
                int src = bOff + (j0 + j) * ldb + k0;
                for (int kk = 0; kk < kc; kk++) bp[kk][j] = b[src + kk];
            }
        }
    }

    /**
     * C rows (+)= packed A rows x packed B, four rows at a time. Accumulator rows are separate arrays and every
     * inner loop indexes its arrays from 0: HotSpot's C2 (JDK 17) vectorises such loops but not ones with an
     * offset into an array. Lanes are independent elements, so vectorisation does not change any result.
     */
    private static void kernel(float[] ap, float[][] bp, int mc, int nc, int kc, float[] c, int cBase, int ldc) {
        float[] r0 = new float[nc], r1 = new float[nc], r2 = new float[nc], r3 = new float[nc];
        int i = 0;
        for (; i + 3 < mc; i += 4) {
            int c0 = cBase + i * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
            System.arraycopy(c, c0, r0, 0, nc);
            System.arraycopy(c, c1, r1, 0, nc);
            System.arraycopy(c, c2, r2, 0, nc);
            System.arraycopy(c, c3, r3, 0, nc);
            int a0 = i * kc, a1 = a0 + kc, a2 = a1 + kc, a3 = a2 + kc;
            for (int kk = 0; kk < kc; kk++)
                row4(r0, r1, r2, r3, bp[kk], ap[a0 + kk], ap[a1 + kk], ap[a2 + kk], ap[a3 + kk], nc);
            System.arraycopy(r0, 0, c, c0, nc);
            System.arraycopy(r1, 0, c, c1, nc);
            System.arraycopy(r2, 0, c, c2, nc);
            System.arraycopy(r3, 0, c, c3, nc);
        }
        for (; i < mc; i++) {
            int c0 = cBase + i * ldc, a0 = i * kc;
            System.arraycopy(c, c0, r0, 0, nc);
            for (int kk = 0; kk < kc; kk++) row1(r0, bp[kk], ap[a0 + kk], nc);
            System.arraycopy(r0, 0, c, c0, nc);
        }
    }

    private static void row4(float[] r0, float[] r1, float[] r2, float[] r3, float[] b, float x0, float x1,
            float x2, float x3, int n) {
        for (int j = 0; j < n; j++) {
            float bv = b[j];
            r0[j] += x0 * bv;
            r1[j] += x1 * bv;
            r2[j] += x2 * bv;
            r3[j] += x3 * bv;
        }
    }

    private static void row1(float[] r0, float[] b, float x0, int n) {
        for (int j = 0; j < n; j++) r0[j] += x0 * b[j];
    }

    /** The plain triple loop (i, k, j order is not used: this is the textbook i, j, k dot product), for reference. */
    public static void naive(int m, int n, int k, float[] a, float[] b, float[] c) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int kk = 0; kk < k; kk++) s += a[i * k + kk] * b[kk * n + j];
                c[i * n + j] = s;
            }
    }
}

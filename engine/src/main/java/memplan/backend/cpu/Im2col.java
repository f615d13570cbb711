package memplan.backend.cpu;

import java.util.Arrays;

/**
 * The unfolding of sliding windows into columns that Conv2d (of its input) and ConvTranspose2d (of its output
 * gradient) both multiply with GEMM: row r = (channel, u, v) holds, for each window position (i, j), the source
 * element at (i*sh - ph + u*dh, j*sw - pw + v*dw), zero outside the plane. {@link #addChannels} is the adjoint
 * (col2im), used by the backward passes.
 */
record Im2col(int srcH, int srcW, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int outH, int outW) {

    int kk() {
        return kh * kw;
    }

    /** Fills rows [from, to) of the columns at dstBase from the planes at srcBase (channel-major). */
    void rows(float[] src, int srcBase, float[] dst, int dstBase, int from, int to) {
        int plane = srcH * srcW, cols = outH * outW;
        for (int r = from; r < to; r++) {
            int c = r / kk(), u = (r % kk()) / kw, v = r % kw;
            int sc = srcBase + c * plane, cr = dstBase + r * cols;
            for (int i = 0; i < outH; i++) {
                int hi = i * sh - ph + u * dh;
                int d = cr + i * outW;
                if (hi < 0 || hi >= srcH) {
                    Arrays.fill(dst, d, d + outW, 0f);
                    continue;
                }
                int sr = sc + hi * srcW, off = v * dw - pw, lo = jFrom(off), hi2 = jTo(off, lo);
                // the valid window positions form one run [lo, hi2): zeros around it, a copy (or a strided gather)
                // inside, no per-element bounds test
                for (int j = 0; j < lo; j++) dst[d + j] = 0f;
                if (sw == 1) {
                    if (hi2 > lo) System.arraycopy(src, sr + lo + off, dst, d + lo, hi2 - lo);
                } else {
                    for (int j = lo, w = sr + lo * sw + off; j < hi2; j++, w += sw) dst[d + j] = src[w];
                }
                for (int j = hi2; j < outW; j++) dst[d + j] = 0f;
            }
        }
    }

    /** The first window column j whose source column j*sw + off lies inside the plane. */
    private int jFrom(int off) {
        return off >= 0 ? 0 : Math.min(outW, (-off + sw - 1) / sw);
    }

    /** One past the last window column j (at least {@code lo}) whose source column lies inside the plane. */
    private int jTo(int off, int lo) {
        int n = srcW - off;
        int hi = n <= 0 ? 0 : Math.min(outW, (n + sw - 1) / sw);
        return Math.max(lo, hi);
    }

    /**
     * Adds the columns back into channels [from, to) of the planes at dstBase (zeroing each plane first unless
     * {@code accumulate}); each channel's rows are added in a fixed order, so the result is deterministic.
     */
    void addChannels(float[] col, int colBase, float[] dst, int dstBase, int from, int to, boolean accumulate) {
        int plane = srcH * srcW, cols = outH * outW;
        for (int c = from; c < to; c++) {
            int dc = dstBase + c * plane;
            if (!accumulate) Arrays.fill(dst, dc, dc + plane, 0f);
            for (int q = 0; q < kk(); q++) {
                int r = c * kk() + q, u = q / kw, v = q % kw;
                int cr = colBase + r * cols;
                for (int i = 0; i < outH; i++) {
                    int hi = i * sh - ph + u * dh;
                    if (hi < 0 || hi >= srcH) continue;
                    int dr = dc + hi * srcW, src = cr + i * outW, off = v * dw - pw, lo = jFrom(off);
                    int hi2 = jTo(off, lo);
                    if (sw == 1) {
                        for (int j = lo, w = dr + lo + off; j < hi2; j++, w++) dst[w] += col[src + j];
                    } else {
                        for (int j = lo, w = dr + lo * sw + off; j < hi2; j++, w += sw) dst[w] += col[src + j];
                    }
                }
            }
        }
    }
}

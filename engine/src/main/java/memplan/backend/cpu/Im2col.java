package memplan.backend.cpu;

import java.util.Arrays;

/**
 * The unfolding of sliding windows into columns that Conv2d (of its input) and ConvTranspose2d (of its output
 * gradient) both multiply with GEMM: row r = (channel, u, v) holds, for each window position (i, j), the source
 * element at (i*sh - ph + u*dh, j*sw - pw + v*dw), zero outside the plane. {@link #addChannels} is the adjoint
 * (col2im), used by the backward passes.
 * <p>
 * The window positions whose source lies inside the plane form one run of rows [iLo(u), iHi(u)) and one run of
 * columns [jLo(v), jHi(v)) per kernel offset; both are computed once here, so filling a row costs copies and
 * zero fills only, with no per-element (or per-output-row) index arithmetic or bounds tests.
 */
final class Im2col {
    private final int srcH, srcW, kh, kw, sh, sw, ph, pw, dh, dw, outH, outW;
    private final int[] iLo, iHi, jLo, jHi;

    Im2col(int srcH, int srcW, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int outH, int outW) {
        this.srcH = srcH;
        this.srcW = srcW;
        this.kh = kh;
        this.kw = kw;
        this.sh = sh;
        this.sw = sw;
        this.ph = ph;
        this.pw = pw;
        this.dh = dh;
        this.dw = dw;
        this.outH = outH;
        this.outW = outW;
        iLo = new int[kh];
        iHi = new int[kh];
        for (int u = 0; u < kh; u++) run(u * dh - ph, sh, srcH, outH, iLo, iHi, u);
        jLo = new int[kw];
        jHi = new int[kw];
        for (int v = 0; v < kw; v++) run(v * dw - pw, sw, srcW, outW, jLo, jHi, v);
    }

    /** The run [lo, hi) of positions p in [0, count) with 0 <= p*stride + off < size (empty runs: lo == hi). */
    private static void run(int off, int stride, int size, int count, int[] lo, int[] hi, int at) {
        int a = 0;
        while (a < count && a * stride + off < 0) a++;
        int b = a;
        while (b < count && b * stride + off < size) b++;
        lo[at] = a;
        hi[at] = b;
    }

    int kk() {
        return kh * kw;
    }

    /** Fills rows [from, to) of the columns at dstBase from the planes at srcBase (channel-major). */
    void rows(float[] src, int srcBase, float[] dst, int dstBase, int from, int to) {
        int cols = outH * outW;
        for (int r = from; r < to; r++) row(src, srcBase, r, dst, dstBase + r * cols);
    }

    /** Writes row r = (channel, u, v) of the columns (outH*outW floats) at dst[d], from the planes at srcBase. */
    void row(float[] src, int srcBase, int r, float[] dst, int d) {
        int kk = kh * kw, c = r / kk, q = r % kk, u = q / kw, v = q % kw;
        int i0 = iLo[u], i1 = iHi[u], lo = jLo[v], hi = jHi[v], end = d + outH * outW;
        if (i0 >= i1 || lo >= hi) {
            Arrays.fill(dst, d, end, 0f);
            return;
        }
        Arrays.fill(dst, d, d + i0 * outW, 0f);
        // source of window (i, j): row i*sh + u*dh - ph, column j*sw + v*dw - pw
        int s0 = srcBase + c * srcH * srcW + (i0 * sh + u * dh - ph) * srcW + v * dw - pw, sStep = sh * srcW;
        if (sw == 1 && lo == 0 && hi == outW && outW == srcW && sh == 1) {
            // every valid window row is a whole source row and they follow each other: one block
            System.arraycopy(src, s0, dst, d + i0 * outW, (i1 - i0) * outW);
        } else {
            for (int i = i0, dd = d + i0 * outW, s = s0; i < i1; i++, dd += outW, s += sStep) {
                for (int j = 0; j < lo; j++) dst[dd + j] = 0f;
                if (sw == 1) System.arraycopy(src, s + lo, dst, dd + lo, hi - lo);
                else for (int j = lo, w = s + lo * sw; j < hi; j++, w += sw) dst[dd + j] = src[w];
                for (int j = hi; j < outW; j++) dst[dd + j] = 0f;
            }
        }
        Arrays.fill(dst, d + i1 * outW, end, 0f);
    }

    /**
     * Adds the columns back into channels [from, to) of the planes at dstBase (zeroing each plane first unless
     * {@code accumulate}); each channel's rows are added in a fixed order, so the result is deterministic.
     */
    void addChannels(float[] col, int colBase, float[] dst, int dstBase, int from, int to, boolean accumulate) {
        int plane = srcH * srcW, cols = outH * outW, kk = kh * kw;
        for (int c = from; c < to; c++) {
            if (!accumulate) Arrays.fill(dst, dstBase + c * plane, dstBase + (c + 1) * plane, 0f);
            for (int q = 0; q < kk; q++) addRow(col, colBase + (c * kk + q) * cols, c * kk + q, dst, dstBase);
        }
    }

    /** Adds row r = (channel, u, v) of the columns, at col[at], into its channel of the planes at dstBase. */
    void addRow(float[] col, int at, int r, float[] dst, int dstBase) {
        int kk = kh * kw, c = r / kk, q = r % kk, u = q / kw, v = q % kw;
        int i0 = iLo[u], i1 = iHi[u], lo = jLo[v], hi = jHi[v];
        int t0 = dstBase + c * srcH * srcW + (i0 * sh + u * dh - ph) * srcW + v * dw - pw, tStep = sh * srcW;
        for (int i = i0, s = at + i0 * outW, t = t0; i < i1; i++, s += outW, t += tStep) {
            if (sw == 1) for (int j = lo; j < hi; j++) dst[t + j] += col[s + j];
            else for (int j = lo, w = t + lo * sw; j < hi; j++, w += sw) dst[w] += col[s + j];
        }
    }
}

package memplan.backend.cpu;

import java.util.Arrays;

/**
 * The unfolding of sliding windows into columns that Conv2d (of its input) and ConvTranspose2d (of its output
 * gradient) both multiply with GEMM: row r = (channel, u, v) holds, for each window position (i, j), the source
 * element at (i*sh - ph + u*dh, j*sw - pw + v*dw), zero outside the plane. {@link #addChannels} is the adjoint
 * (col2im), used by the backward passes.
 * <p>
 * A channel is first <em>prepared</em>: the source rows its windows reach, zero-padded at every edge, and split by
 * column into its {@code sw} phases (phase p holds the padded columns q*sw + p), so that every row of the columns
 * is a run of contiguous copies out of it, with no bounds test and no strided read: a stride-2 gather per element
 * and per-row edge handling made the im2col of ResNet-18's stem and of its 7x7 and 14x14 planes cost as much as
 * their products. Only the rows and phases some window reads are prepared. The adjoint adds into a prepared
 * channel that starts as the plane itself (or zero) and writes it back, so every element still sums the plane's
 * value and then its rows' terms in row order, as adding straight into the plane did.
 */
final class Im2col {
    private final int srcH, srcW, kh, kw, sh, sw, ph, pw, dh, dw, outH, outW;
    /** Prepared columns per phase: padded column q*sw + p for q in [0, qW). */
    private final int qW;
    /** Per phase, the source columns it holds: q in [qLo, qHi) are inside the plane; and whether a window reads it. */
    private final int[] qLo, qHi;
    private final boolean[] phaseRead;
    /** Which prepared rows of a whole plane's windows (output rows [0, outH)) some window reads. */
    private final boolean[] planeRowRead;
    /** Per kernel row u (column v): the run of output rows (columns) whose source lies inside the plane. */
    private final int[] iLo, iHi, jLo, jHi;

    private static final ThreadLocal<float[]> PREPARED = ThreadLocal.withInitial(() -> new float[0]);

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
        // the last padded column a window reads is (outW - 1)*sw + (kw - 1)*dw
        qW = ((outW - 1) * sw + (kw - 1) * dw) / sw + 1;
        qLo = new int[sw];
        qHi = new int[sw];
        phaseRead = new boolean[sw];
        for (int p = 0; p < sw; p++) {
            // padded column q*sw + p is source column q*sw + p - pw
            qLo[p] = Math.min(qW, Math.max(0, ceilDiv(pw - p, sw)));
            qHi[p] = Math.max(qLo[p], Math.min(qW, ceilDiv(srcW + pw - p, sw)));
        }
        for (int v = 0; v < kw; v++) phaseRead[v * dw % sw] = true;
        iLo = new int[kh];
        iHi = new int[kh];
        for (int u = 0; u < kh; u++) run(u * dh - ph, sh, srcH, outH, iLo, iHi, u);
        jLo = new int[kw];
        jHi = new int[kw];
        for (int v = 0; v < kw; v++) run(v * dw - pw, sw, srcW, outW, jLo, jHi, v);
        planeRowRead = new boolean[preparedRows(0, outH)];
        for (int rr = 0; rr < planeRowRead.length; rr++) planeRowRead[rr] = windowReads(rr, outH);
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

    private static int ceilDiv(int a, int b) {
        return -Math.floorDiv(-a, b);
    }

    int kk() {
        return kh * kw;
    }

    /** Prepared rows for output rows [i0, i1): padded rows i0*sh .. (i1-1)*sh + (kh-1)*dh. */
    private int preparedRows(int i0, int i1) {
        return (i1 - 1 - i0) * sh + (kh - 1) * dh + 1;
    }

    /** Whether a window of output rows [0, count) reads prepared row rr (padded row i0*sh + rr). */
    private boolean rowRead(int rr, int count) {
        return count == outH ? planeRowRead[rr] : windowReads(rr, count);
    }

    private boolean windowReads(int rr, int count) {
        for (int u = 0; u < kh; u++) {
            int t = rr - u * dh;
            if (t >= 0 && t % sh == 0 && t / sh < count) return true;
        }
        return false;
    }

    /**
     * This thread's prepared channel {@code c} of the planes at srcBase, for output rows [i0, i1): [phase][row][qW],
     * the plane's values where {@code load} (zero outside it), zeros everywhere otherwise.
     */
    private float[] prepare(float[] src, int srcBase, int c, int i0, int i1, boolean load) {
        int nr = preparedRows(i0, i1), len = sw * nr * qW, r0 = i0 * sh - ph, plane = srcBase + c * srcH * srcW;
        float[] q = PREPARED.get();
        if (q.length < len) {
            q = new float[len];
            PREPARED.set(q);
        }
        if (!load) {
            Arrays.fill(q, 0, len, 0f);
            return q;
        }
        for (int p = 0; p < sw; p++) {
            if (!phaseRead[p]) continue;
            int lo = qLo[p], hi = qHi[p];
            for (int rr = 0; rr < nr; rr++) {
                int at = (p * nr + rr) * qW, row = r0 + rr;
                if (!rowRead(rr, i1 - i0)) continue;
                if (row < 0 || row >= srcH || lo >= hi) {
                    Arrays.fill(q, at, at + qW, 0f);
                    continue;
                }
                Arrays.fill(q, at, at + lo, 0f);
                int s = plane + row * srcW + lo * sw + p - pw;
                if (sw == 1) System.arraycopy(src, s, q, at + lo, hi - lo);
                else for (int j = at + lo, e = at + hi; j < e; j++, s += sw) q[j] = src[s];
                Arrays.fill(q, at + hi, at + qW, 0f);
            }
        }
        return q;
    }

    /**
     * Writes rows q0..q1-1 of channel c's kh*kw rows of the columns, for output rows [i0, i1) only: each
     * (i1-i0)*outW floats, row q at dst[d + (q - q0)*stride].
     */
    void channelRows(float[] src, int srcBase, int c, int q0, int q1, int i0, int i1, float[] dst, int d,
                     int stride) {
        if (kh * kw == 1) {
            // a 1x1 kernel reads each element once: straight from the plane, with nothing to prepare
            directRow(src, srcBase + c * srcH * srcW, i0, i1, dst, d);
            return;
        }
        float[] q = prepare(src, srcBase, c, i0, i1, true);
        int nr = preparedRows(i0, i1);
        for (int k = q0; k < q1; k++) {
            int u = k / kw, v = k % kw, p = v * dw % sw, off = v * dw / sw;
            int s = (p * nr + u * dh) * qW + off, t = d + (k - q0) * stride;
            for (int i = i0; i < i1; i++, s += sh * qW, t += outW) System.arraycopy(q, s, dst, t, outW);
        }
    }

    /** Output rows [i0, i1) of the one row of a 1x1 kernel (u = v = 0) from the plane at {@code plane}. */
    private void directRow(float[] src, int plane, int i0, int i1, float[] dst, int d) {
        int a = Math.max(i0, iLo[0]), b = Math.min(i1, iHi[0]), lo = jLo[0], hi = jHi[0];
        if (a >= b || lo >= hi) {
            Arrays.fill(dst, d, d + (i1 - i0) * outW, 0f);
            return;
        }
        Arrays.fill(dst, d, d + (a - i0) * outW, 0f);
        int s = plane + (a * sh - ph) * srcW - pw;
        for (int i = a, t = d + (a - i0) * outW; i < b; i++, t += outW, s += sh * srcW) {
            Arrays.fill(dst, t, t + lo, 0f);
            if (sw == 1) System.arraycopy(src, s + lo, dst, t + lo, hi - lo);
            else for (int j = lo, w = s + lo * sw; j < hi; j++, w += sw) dst[t + j] = src[w];
            Arrays.fill(dst, t + hi, t + outW, 0f);
        }
        Arrays.fill(dst, d + (b - i0) * outW, d + (i1 - i0) * outW, 0f);
    }

    /** Fills rows [from, to) of the columns at dstBase from the planes at srcBase (channel-major). */
    void rows(float[] src, int srcBase, float[] dst, int dstBase, int from, int to) {
        int cols = outH * outW, kk = kk();
        for (int r = from; r < to; ) {
            int c = r / kk, q0 = r % kk, q1 = Math.min(kk, q0 + to - r);
            channelRows(src, srcBase, c, q0, q1, 0, outH, dst, dstBase + r * cols, cols);
            r += q1 - q0;
        }
    }

    /**
     * Adds the columns back into channels [from, to) of the planes at dstBase (zeroing each plane first unless
     * {@code accumulate}); each channel's rows are added in a fixed order, so the result is deterministic.
     */
    void addChannels(float[] col, int colBase, float[] dst, int dstBase, int from, int to, boolean accumulate) {
        int cols = outH * outW, kk = kk();
        for (int c = from; c < to; c++) addChannel(col, colBase + c * kk * cols, cols, c, dst, dstBase, accumulate);
    }

    /**
     * Adds channel c's kh*kw rows of the columns (row q at col[at + q*stride], outH*outW floats) into its plane at
     * dstBase, which is zeroed first unless {@code accumulate}.
     */
    void addChannel(float[] col, int at, int stride, int c, float[] dst, int dstBase, boolean accumulate) {
        int plane = dstBase + c * srcH * srcW, kk = kk();
        if (sw == 1 || kk == 1) {
            // rows add contiguously (or each element once): straight into the plane
            if (!accumulate) Arrays.fill(dst, plane, plane + srcH * srcW, 0f);
            for (int k = 0; k < kk; k++) directAdd(col, at + k * stride, k / kw, k % kw, dst, plane);
            return;
        }
        float[] g = prepare(dst, dstBase, c, 0, outH, accumulate);
        int nr = preparedRows(0, outH);
        for (int k = 0; k < kk; k++) {
            int u = k / kw, v = k % kw, p = v * dw % sw, off = v * dw / sw;
            int t = (p * nr + u * dh) * qW + off, s = at + k * stride;
            for (int i = 0; i < outH; i++, t += sh * qW, s += outW)
                for (int j = 0; j < outW; j++) g[t + j] += col[s + j];
        }
        if (!accumulate) Arrays.fill(dst, plane, plane + srcH * srcW, 0f);
        // the prepared elements inside the plane go back; a plane element no window reads is left as it was
        for (int p = 0; p < sw; p++) {
            if (!phaseRead[p] || qLo[p] >= qHi[p]) continue;
            for (int rr = 0; rr < nr; rr++) {
                int row = rr - ph;
                if (row < 0 || row >= srcH || !rowRead(rr, outH)) continue;
                int from = (p * nr + rr) * qW, t = plane + row * srcW + qLo[p] * sw + p - pw;
                for (int j = from + qLo[p], e = from + qHi[p]; j < e; j++, t += sw) dst[t] = g[j];
            }
        }
    }

    /** Adds row (u, v) of a channel's columns, at col[at], into its plane at {@code plane}: the runs inside it. */
    private void directAdd(float[] col, int at, int u, int v, float[] dst, int plane) {
        int i0 = iLo[u], i1 = iHi[u], lo = jLo[v], hi = jHi[v];
        int t0 = plane + (i0 * sh + u * dh - ph) * srcW + v * dw - pw, tStep = sh * srcW;
        for (int i = i0, s = at + i0 * outW, t = t0; i < i1; i++, s += outW, t += tStep) {
            if (sw == 1) for (int j = lo; j < hi; j++) dst[t + j] += col[s + j];
            else for (int j = lo, w = t + lo * sw; j < hi; j++, w += sw) dst[w] += col[s + j];
        }
    }
}

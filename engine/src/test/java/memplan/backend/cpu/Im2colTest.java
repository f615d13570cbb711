package memplan.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Im2col's run-based rows and col2im against the per-element definition, over strides, padding and dilation. */
class Im2colTest {
    private static final int[][] GEOMETRIES = {
        // srcH, srcW, kh, kw, sh, sw, ph, pw, dh, dw
        {7, 7, 3, 3, 1, 1, 1, 1, 1, 1}, {8, 9, 3, 3, 2, 2, 1, 1, 1, 1}, {10, 6, 7, 7, 2, 2, 3, 3, 1, 1},
        {5, 5, 1, 1, 2, 2, 0, 0, 1, 1}, {9, 11, 3, 2, 1, 3, 2, 0, 2, 1}, {4, 4, 5, 5, 1, 1, 0, 0, 1, 1},
        {6, 6, 3, 3, 1, 1, 4, 4, 1, 1}, {12, 5, 3, 3, 3, 1, 1, 2, 2, 3}, {14, 14, 1, 1, 2, 2, 0, 0, 1, 1},
        {15, 13, 3, 3, 2, 2, 0, 1, 1, 1}, {9, 10, 7, 5, 2, 3, 3, 2, 1, 2}, {7, 7, 3, 3, 1, 1, 0, 0, 1, 1},
    };

    private static int out(int size, int k, int s, int p, int d) {
        return (size + 2 * p - d * (k - 1) - 1) / s + 1;
    }

    /** col2im by its definition: each channel's rows added in row order, then positions in order. */
    private static void addByDefinition(int[] g, int oh, int ow, int c, float[] col, float[] dst, int base) {
        int h = g[0], w = g[1], kh = g[2], kw = g[3], sh = g[4], sw = g[5], ph = g[6], pw = g[7];
        int dh = g[8], dw = g[9];
        for (int row = 0; row < c * kh * kw; row++) {
            int ch = row / (kh * kw), u = row % (kh * kw) / kw, v = row % kw;
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int y = i * sh - ph + u * dh, x = j * sw - pw + v * dw;
                    if (y >= 0 && y < h && x >= 0 && x < w)
                        dst[base + ch * h * w + y * w + x] += col[row * oh * ow + i * ow + j];
                }
        }
    }

    @Test
    void rowsAndAdjointMatchTheDefinition() {
        Random r = new Random(3);
        for (int[] g : GEOMETRIES) {
            int h = g[0], w = g[1], kh = g[2], kw = g[3], sh = g[4], sw = g[5], ph = g[6], pw = g[7];
            int dh = g[8], dw = g[9];
            int oh = out(h, kh, sh, ph, dh), ow = out(w, kw, sw, pw, dw), c = 3, rows = c * kh * kw;
            if (oh <= 0 || ow <= 0) continue;
            Im2col un = new Im2col(h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow);
            float[] src = new float[5 + c * h * w];
            for (int i = 0; i < src.length; i++) src[i] = r.nextFloat() - 0.5f;
            float[] got = new float[7 + rows * oh * ow], want = new float[got.length];
            Arrays.fill(got, 42f);
            Arrays.fill(want, 42f);
            for (int row = 0; row < rows; row++) {
                int ch = row / (kh * kw), u = row % (kh * kw) / kw, v = row % kw;
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        int y = i * sh - ph + u * dh, x = j * sw - pw + v * dw;
                        boolean in = y >= 0 && y < h && x >= 0 && x < w;
                        want[7 + row * oh * ow + i * ow + j] = in ? src[5 + ch * h * w + y * w + x] : 0f;
                    }
            }
            un.rows(src, 5, got, 7, 0, rows);
            assertArrayEquals(want, got, "im2col of " + Arrays.toString(g));

            // col2im: each channel's rows added in row order, then positions in order
            float[] col = new float[rows * oh * ow];
            for (int i = 0; i < col.length; i++) col[i] = r.nextFloat() - 0.5f;
            float[] back = new float[3 + c * h * w], ref = new float[back.length];
            for (int i = 0; i < back.length; i++) back[i] = ref[i] = r.nextFloat();
            addByDefinition(g, oh, ow, c, col, ref, 3);
            un.addChannels(col, 0, back, 3, 0, c, true);
            assertArrayEquals(ref, back, "col2im of " + Arrays.toString(g));

            // without accumulating, each plane is zeroed first: its old values (here NaN) leave no trace
            float[] fresh = new float[back.length], zeroed = new float[back.length];
            Arrays.fill(fresh, Float.NaN);
            Arrays.fill(zeroed, 0f);
            fresh[0] = fresh[1] = fresh[2] = zeroed[0] = zeroed[1] = zeroed[2] = 7f;
            addByDefinition(g, oh, ow, c, col, zeroed, 3);
            un.addChannels(col, 0, fresh, 3, 0, c, false);
            assertArrayEquals(zeroed, fresh, "col2im without accumulating of " + Arrays.toString(g));

            // any range of rows, cutting channels anywhere, gives the same rows
            for (int from = 0; from < rows; from += 2) {
                int to = Math.min(rows, from + 1 + from % 5);
                float[] part = new float[got.length];
                Arrays.fill(part, 42f);
                un.rows(src, 5, part, 7, from, to);
                for (int i = 0; i < part.length; i++) {
                    int row = (i - 7) / (oh * ow);
                    boolean written = i >= 7 && row >= from && row < to;
                    assertEquals(written ? want[i] : 42f, part[i], "rows " + from + ".." + to + " of "
                            + Arrays.toString(g) + " at " + i);
                }
            }

            // a block of output rows of one channel: the same values as those rows of the whole columns
            int kk = kh * kw;
            for (int ch = 0; ch < c; ch++)
                for (int i0 = 0; i0 < oh; i0++)
                    for (int i1 = i0 + 1; i1 <= oh; i1 += 2) {
                        int seg = (i1 - i0) * ow;
                        float[] block = new float[kk * seg];
                        un.channelRows(src, 5, ch, 0, kk, i0, i1, block, 0, seg);
                        for (int q = 0; q < kk; q++)
                            for (int e = 0; e < seg; e++)
                                assertEquals(want[7 + (ch * kk + q) * oh * ow + i0 * ow + e], block[q * seg + e],
                                        "output rows " + i0 + ".." + i1 + " of channel " + ch + " of "
                                                + Arrays.toString(g));
                    }
        }
    }

    @Test
    void reluGradientMaskIsExactlyYGreaterThanZero() {
        float[] ys = {0f, -0f, 1e-45f, -1e-45f, 1f, -1f, Float.MAX_VALUE, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0xFFC00000), Float.MIN_NORMAL};
        float[] gs = {3.5f, -2f, -0f, Float.NaN};
        for (float y : ys)
            for (float g : gs) {
                float want = y > 0f ? g : 0f;
                float got = PointwiseKernels.ReLUK.passed(y, g);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), "y=" + y + " g=" + g);
            }
    }
}

package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.Conv2d;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * 3x3 stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016): each 4x4 block of output is A^T [(G g G^T) . (B^T d B)] A for the 6x6
 * input tile d under it, so the 36 positions of the transformed tiles each become one product over the channels,
 * [O, C] x [C, tiles], with 36 multiply-adds per 16 outputs where im2col's product has 144. The three passes use
 * it: the forward one; the data gradient, which for stride 1 is the same correlation of the output gradient with
 * the kernels turned 180 degrees and the channels swapped, padding 2 - p; and the weight gradient, summed in the
 * transformed domain as (A gY A^T) . (B^T d B) over the tiles (one product per position, over the tiles) and
 * brought back by G^T ... G. The products run on OpenBLAS in the staging (as {@link GemmKernels.ConvK}'s do),
 * over groups of images that fit in four times {@link GemmKernels.ConvK#stageFloats}; each tile's transform is
 * written by one task and each product is cut as its shape says, so results do not depend on the thread count.
 * The results differ from im2col's in the last bits (a different sum), like any other choice of algorithm.
 */
public final class WinogradConv {
    /** Positions of a transformed 6x6 tile; each output tile is 4x4. */
    private static final int POS = 36, OUT = 4;
    /** Fewer channels than this in or out make products too thin for the transforms to pay (tiny-cnn's). */
    static final int MIN_CHANNELS = 16;

    /** Off with {@code -Dmemplan.cpu.winograd=off}, so that a user can rule the algorithm out (or compare). */
    private static boolean enabled = !"off".equalsIgnoreCase(System.getProperty("memplan.cpu.winograd", ""));

    /** Whether 3x3 stride-1 convolutions may run by this algorithm (true unless switched off). */
    public static boolean isEnabled() {
        return enabled;
    }

    /** Lets them (or not); for a benchmark that compares the two algorithms, between iterations. */
    public static void setEnabled(boolean on) {
        enabled = on;
    }

    /** Three work arrays per thread: a tile transform's input, its half-way result and its output. */
    private static final ThreadLocal<float[][]> LOCAL = ThreadLocal.withInitial(() -> new float[3][0]);

    private WinogradConv() {
    }

    /**
     * Whether a convolution of these shapes has the geometry this algorithm takes: 3x3, stride 1, no dilation,
     * one group, padding 0 to 2 (so its data gradient is one too), at least {@link #MIN_CHANNELS} channels in and
     * out, and at least twice as many tile values as transformed weights (images x tiles x (C + O) >= 2 O C):
     * each pass transforms all the weights, which on ResNet-18's 7x7 layer at batch 8 (512 channels, 32 tiles)
     * cost more than the products saved (0.64-0.71x the im2col time), and its 14x14 layer, where the two are
     * equal, ran at 0.90-1.18x on two threads. A function of the shapes only.
     */
    static boolean allows(Conv2d op, Shape in, Shape out) {
        if (!(op.kernel().h() == 3 && op.kernel().w() == 3 && op.stride().h() == 1 && op.stride().w() == 1
                && op.dilation().h() == 1 && op.dilation().w() == 1 && op.groups() == 1
                && op.padding().h() >= 0 && op.padding().h() <= 2 && op.padding().w() >= 0 && op.padding().w() <= 2
                && in.rank() == 4 && out.rank() == 4 && in.dim(1) >= MIN_CHANNELS && out.dim(1) >= MIN_CHANNELS))
            return false;
        Geo g = Geo.of(in, out, op);
        return (long) g.n * g.tiles() * (g.c + g.o) >= 2L * g.o * g.c
                && staged(g) <= OpenBlasGemm.MAX_STAGED_FLOATS;
    }

    /**
     * Whether the CPU backend runs a convolution of these shapes by Winograd's algorithm (it needs OpenBLAS, and
     * is not switched off); the cpu device's cost model prices such convolutions as a class of their own.
     */
    public static boolean runs(Conv2d op, Shape in, Shape out) {
        return enabled && OpenBlasGemm.available() && allows(op, in, out);
    }

    /** A convolution's sizes; tiles of the output (forward) and of the input (data gradient) are 4x4. */
    record Geo(int n, int c, int h, int w, int o, int oh, int ow, int ph, int pw) {
        static Geo of(Shape in, Shape out, Conv2d op) {
            return new Geo(in.dim(0), in.dim(1), in.dim(2), in.dim(3), out.dim(1), out.dim(2), out.dim(3),
                    op.padding().h(), op.padding().w());
        }

        /** Tiles across the output (the forward pass and the weight gradient tile it). */
        int tileCols() {
            return (ow + OUT - 1) / OUT;
        }

        int tiles() {
            return ((oh + OUT - 1) / OUT) * tileCols();
        }

        /** Tiles across the input (the data gradient tiles it). */
        int inputTileCols() {
            return (w + OUT - 1) / OUT;
        }

        int inputTiles() {
            return ((h + OUT - 1) / OUT) * inputTileCols();
        }

        /** Floats one image needs in each of the two work regions. */
        long perImage() {
            return (long) POS * Math.max(tiles(), inputTiles()) * Math.max(c, o);
        }

        /**
         * Images per group of products: as many as fit (at least one), evened out over the groups. The two work
         * regions together get four times the im2col path's bound: ResNet-18's first stage at batch 8 in one
         * group of eight (products over 1568 tiles) ran 1.15-1.3x as fast as in two of four, its second stage
         * about the same (WinogradBench with the bound changed, two threads).
         */
        int perGroup() {
            long fit = Math.max(1, Math.min(n, 4 * GemmKernels.ConvK.stageFloats / (2 * perImage())));
            long groups = (n + fit - 1) / fit;
            return (int) ((n + groups - 1) / groups);
        }
    }

    /** The staging a call uses at most: transformed weights and their gradient, and two work regions. */
    private static long staged(Geo g) {
        return 2L * POS * g.o * g.c + 2L * g.perGroup() * g.perImage();
    }

    static void forward(Geo g, Buf x, Buf w, Buf b, Buf y) {
        int per = g.perGroup(), tw = g.tileCols(), t = g.tiles();
        long uAt = 0, vAt = (long) POS * g.o * g.c, mAt = vAt + per * g.perImage();
        FloatBuffer buf = OpenBlasGemm.stage(mAt + per * g.perImage());
        weights(w, g.o, g.c, false, buf, uAt);
        for (int n0 = 0; n0 < g.n; n0 += per) {
            int n1 = Math.min(g.n, n0 + per), p = (n1 - n0) * t;
            inputTiles(x, g.c, g.h, g.w, g.ph, g.pw, tw, t, n0, n1, buf, vAt);
            OpenBlasGemm.multiplyBatch(POS, g.o, p, g.c, false, uAt, (long) g.o * g.c, false, vAt, (long) g.c * p,
                    mAt, (long) g.o * p, false);
            outputTiles(buf, mAt, g.o, tw, t, n0, n1, y, g.oh, g.ow, b, false);
        }
    }

    /**
     * Per group of images: the weight gradient's products (output gradient's and input's tiles) added into the
     * transformed gradient, groups in order; the data gradient as the forward correlation of the output gradient
     * with the turned kernels. The weight gradient is brought back once, after the last group.
     */
    static void backward(Geo g, BackwardArgs a, Buf gy, Buf gx, Buf gw) {
        Buf x = gw != null ? a.need(a.in(), 0, "input") : null;
        Buf w = gx != null ? a.need(a.params(), 0, "param") : null;
        int per = g.perGroup(), tw = g.tileCols(), t = g.tiles(), itw = g.inputTileCols(), it = g.inputTiles();
        long wLen = (long) POS * g.o * g.c, duAt = wLen, r1At = 2 * wLen, r2At = r1At + per * g.perImage();
        FloatBuffer buf = OpenBlasGemm.stage(r2At + per * g.perImage());
        if (w != null) weights(w, g.c, g.o, true, buf, 0);
        for (int n0 = 0; n0 < g.n; n0 += per) {
            int n1 = Math.min(g.n, n0 + per);
            if (gw != null) {
                int p = (n1 - n0) * t;
                gradTiles(gy, g.o, g.oh, g.ow, tw, t, n0, n1, buf, r1At);
                inputTiles(x, g.c, g.h, g.w, g.ph, g.pw, tw, t, n0, n1, buf, r2At);
                OpenBlasGemm.multiplyBatch(POS, g.o, g.c, p, false, r1At, (long) g.o * p, true, r2At,
                        (long) g.c * p, duAt, (long) g.o * g.c, n0 > 0);
            }
            if (gx != null) {
                int p = (n1 - n0) * it;
                inputTiles(gy, g.o, g.oh, g.ow, 2 - g.ph, 2 - g.pw, itw, it, n0, n1, buf, r1At);
                OpenBlasGemm.multiplyBatch(POS, g.c, p, g.o, false, 0, (long) g.c * g.o, false, r1At,
                        (long) g.o * p, r2At, (long) g.c * p, false);
                outputTiles(buf, r2At, g.c, itw, it, n0, n1, gx, g.h, g.w, null, a.accIn(0));
            }
        }
        if (gw != null) weightGradient(buf, duAt, g.o, g.c, gw, a.accParam(0));
    }

    /** This thread's work array {@code k} (0-2) of at least {@code n} floats. */
    private static float[] local(int k, int n) {
        float[][] f = LOCAL.get();
        if (f[k].length < n) f[k] = new float[n];
        return f[k];
    }

    /** Two sets of 36 rows per thread, for the tile transforms' passes over all tiles (see {@link #rows}). */
    private static final ThreadLocal<float[][][]> ROWS = ThreadLocal.withInitial(() -> new float[2][POS][0]);

    /**
     * This thread's row set {@code k} (0-1): 36 arrays of at least {@code n} floats. The passes over all tiles run
     * one output row per loop over separate arrays, all read and written at the same index: so C2 (JDK 17)
     * vectorises them. Over one array at six offsets per side it could not tell the rows apart and ran them
     * scalar (a scratch copy: 1.07 ns an output, against 0.11-0.19 ns so).
     */
    private static float[][] rows(int k, int n) {
        float[][] r = ROWS.get()[k];
        if (r[0].length < n) for (int i = 0; i < POS; i++) r[i] = new float[n];
        return r;
    }

    // Each transform below works on whole planes: value j of every tile (or kernel) side by side, [j][count], so
    // its loops run over the tiles with the same arithmetic for each. The 6x6 transforms apply their matrix down
    // the columns, then along the rows over all tiles at once; the tiles' passes keep each row in an array of its
    // own (rows), so that C2 vectorises them; the weights' (gRows, gtRows) are run once per call and stay flat.

    /**
     * U [36][rows][cols] at {@code at}: G g G^T of w[r][c] ([rows, cols, 3, 3]), or, when {@code turned}, of
     * w[c][r] turned 180 degrees (the data gradient's kernels: w is then [cols, rows, 3, 3]).
     */
    private static void weights(Buf w, int rows, int cols, boolean turned, FloatBuffer buf, long at) {
        float[] wd = w.data();
        int off = w.offset();
        Par.each(rows, (long) cols * 100, r -> {
            float[] g = local(0, 9 * cols), t = local(1, 18 * cols), u = local(2, POS * cols);
            for (int c = 0; c < cols; c++) {
                int src = off + (turned ? c * rows + r : r * cols + c) * 9;
                for (int i = 0; i < 9; i++) g[i * cols + c] = wd[src + (turned ? 8 - i : i)];
            }
            for (int j = 0; j < 3; j++) gRows(g, j * cols, 3 * cols, t, j * cols, 3 * cols, cols);
            for (int i = 0; i < 6; i++) gRows(t, i * 3 * cols, cols, u, i * 6 * cols, cols, cols);
            for (int q = 0; q < POS; q++) buf.put((int) (at + ((long) q * rows + r) * cols), u, q * cols, cols);
        });
    }

    private static final float Q = 1f / 4, S = 1f / 6, T12 = 1f / 12, T24 = 1f / 24;

    /** dst row i (i = 0..5) = (G (src rows 0..2))_i, element by element over n. */
    private static void gRows(float[] src, int s0, int ss, float[] dst, int d0, int ds, int n) {
        for (int k = 0; k < n; k++) {
            float g0 = src[s0 + k], g1 = src[s0 + ss + k], g2 = src[s0 + 2 * ss + k];
            dst[d0 + k] = Q * g0;
            dst[d0 + ds + k] = -S * (g0 + g1 + g2);
            dst[d0 + 2 * ds + k] = -S * (g0 - g1 + g2);
            dst[d0 + 3 * ds + k] = T24 * g0 + T12 * g1 + S * g2;
            dst[d0 + 4 * ds + k] = T24 * g0 - T12 * g1 + S * g2;
            dst[d0 + 5 * ds + k] = g2;
        }
    }

    /** dst row i (i = 0..2) = (G^T (src rows 0..5))_i, element by element over n. */
    private static void gtRows(float[] src, int s0, int ss, float[] dst, int d0, int ds, int n) {
        for (int k = 0; k < n; k++) {
            float m0 = src[s0 + k], m1 = src[s0 + ss + k], m2 = src[s0 + 2 * ss + k], m3 = src[s0 + 3 * ss + k];
            float m4 = src[s0 + 4 * ss + k], m5 = src[s0 + 5 * ss + k];
            dst[d0 + k] = Q * m0 - S * (m1 + m2) + T24 * (m3 + m4);
            dst[d0 + ds + k] = S * (m2 - m1) + T12 * (m3 - m4);
            dst[d0 + 2 * ds + k] = S * (m3 + m4 - m1 - m2) + m5;
        }
    }

    /**
     * gw (+)= G^T dU G per output and input channel, dU [36][o][c] at {@code at}: the weight gradient from its
     * transformed sum.
     */
    private static void weightGradient(FloatBuffer buf, long at, int o, int c, Buf gw, boolean acc) {
        float[] gd = gw.data();
        int off = gw.offset();
        Par.each(o, (long) c * 100, r -> {
            float[] d = local(0, POS * c), t = local(1, 18 * c), res = local(2, 9 * c);
            for (int q = 0; q < POS; q++) buf.get((int) (at + ((long) q * o + r) * c), d, q * c, c);
            for (int k = 0; k < 6; k++) gtRows(d, k * c, 6 * c, t, k * c, 6 * c, c);
            for (int i = 0; i < 3; i++) gtRows(t, i * 6 * c, c, res, i * 3 * c, c, c);
            for (int ch = 0; ch < c; ch++) {
                int dst = off + (r * c + ch) * 9;
                for (int i = 0; i < 9; i++) {
                    float v = res[i * c + ch];
                    gd[dst + i] = acc ? gd[dst + i] + v : v;
                }
            }
        });
    }

    /**
     * V [36][channels][(n1-n0)*tiles] at {@code at}: B^T d B for the 6x6 tile d of source image n, channel s
     * under each 4x4 output tile (rows from 4*ty - py, zero outside the image). One task per image and channel:
     * the plane is copied into a zero border first, so the tiles are read without a test per element, and B^T is
     * applied down the columns as they are read.
     */
    private static void inputTiles(Buf src, int channels, int sh, int sw, int py, int px, int tw, int tiles, int n0,
                                   int n1, FloatBuffer buf, long at) {
        float[] sd = src.data();
        int p = (n1 - n0) * tiles, plane = sh * sw, th = tiles / tw, pw = tw * OUT + 2, ph = th * OUT + 2;
        Par.each((n1 - n0) * channels, (long) tiles * 150, task -> {
            int i = task / channels, s = task % channels, base = src.offset() + ((n0 + i) * channels + s) * plane;
            float[] pad = local(0, ph * pw);
            float[][] t = rows(0, tiles), v = rows(1, tiles);
            Arrays.fill(pad, 0, ph * pw, 0f);
            // source rows and columns that land inside the padded tile grid
            int xs = Math.max(0, -px), xe = Math.min(sw, pw - px), ys = Math.max(0, -py), ye = Math.min(sh, ph - py);
            for (int yy = ys; yy < ye && xs < xe; yy++)
                System.arraycopy(sd, base + yy * sw + xs, pad, (yy + py) * pw + xs + px, xe - xs);
            for (int ty = 0; ty < th; ty++) {
                int r0 = ty * OUT * pw, k0 = ty * tw;
                for (int c = 0; c < 6; c++) {
                    int at0 = r0 + c;
                    // row j of tile column c: t[j * 6 + c]
                    float[] t0 = t[c], t1 = t[6 + c], t2 = t[12 + c], t3 = t[18 + c], t4 = t[24 + c], t5 = t[30 + c];
                    for (int tx = 0; tx < tw; tx++) {
                        int q = at0 + tx * OUT;
                        float d0 = pad[q], d1 = pad[q + pw], d2 = pad[q + 2 * pw], d3 = pad[q + 3 * pw];
                        float d4 = pad[q + 4 * pw], d5 = pad[q + 5 * pw];
                        int k = k0 + tx;
                        t0[k] = 4 * d0 - 5 * d2 + d4;
                        t1[k] = d3 + d4 - 4 * (d1 + d2);
                        t2[k] = 4 * (d1 - d2) - d3 + d4;
                        t3[k] = 2 * (d3 - d1) - d2 + d4;
                        t4[k] = 2 * (d1 - d3) - d2 + d4;
                        t5[k] = 4 * d1 - 5 * d3 + d5;
                    }
                }
            }
            for (int r = 0; r < 6; r++) btRows(t, r * 6, v, r * 6, tiles);
            for (int q = 0; q < POS; q++)
                buf.put((int) (at + ((long) q * channels + s) * p + (long) i * tiles), v[q], 0, tiles);
        });
    }

    /** dst rows d..d+5 = B^T (src rows s..s+5), element by element over n: one loop per output row. */
    private static void btRows(float[][] src, int s, float[][] dst, int d, int n) {
        float[] d0 = src[s], d1 = src[s + 1], d2 = src[s + 2], d3 = src[s + 3], d4 = src[s + 4], d5 = src[s + 5];
        float[] o0 = dst[d], o1 = dst[d + 1], o2 = dst[d + 2], o3 = dst[d + 3], o4 = dst[d + 4], o5 = dst[d + 5];
        for (int k = 0; k < n; k++) o0[k] = 4 * d0[k] - 5 * d2[k] + d4[k];
        for (int k = 0; k < n; k++) o1[k] = d3[k] + d4[k] - 4 * (d1[k] + d2[k]);
        for (int k = 0; k < n; k++) o2[k] = 4 * (d1[k] - d2[k]) - d3[k] + d4[k];
        for (int k = 0; k < n; k++) o3[k] = 2 * (d3[k] - d1[k]) - d2[k] + d4[k];
        for (int k = 0; k < n; k++) o4[k] = 2 * (d1[k] - d3[k]) - d2[k] + d4[k];
        for (int k = 0; k < n; k++) o5[k] = 4 * d1[k] - 5 * d3[k] + d5[k];
    }

    /**
     * M' [36][channels][(n1-n0)*tiles] at {@code at}: A gY A^T for each 4x4 tile of output gradient (zero past
     * the output's edge), the weight gradient's left operand. One task per image and channel, the plane copied
     * into a zero border as for {@link #inputTiles}.
     */
    private static void gradTiles(Buf gy, int channels, int oh, int ow, int tw, int tiles, int n0, int n1,
                                  FloatBuffer buf, long at) {
        float[] gd = gy.data();
        int p = (n1 - n0) * tiles, plane = oh * ow, th = tiles / tw, pw = tw * OUT;
        Par.each((n1 - n0) * channels, (long) tiles * 100, task -> {
            int i = task / channels, s = task % channels, base = gy.offset() + ((n0 + i) * channels + s) * plane;
            float[] pad = local(0, th * OUT * pw);
            float[][] t = rows(0, tiles), v = rows(1, tiles);
            if (pw != ow || th * OUT != oh) Arrays.fill(pad, 0, th * OUT * pw, 0f);
            for (int yy = 0; yy < oh; yy++) System.arraycopy(gd, base + yy * ow, pad, yy * pw, ow);
            for (int ty = 0; ty < th; ty++) {
                int r0 = ty * OUT * pw, k0 = ty * tw;
                for (int c = 0; c < OUT; c++) {
                    int at0 = r0 + c;
                    // row j of tile column c: t[j * 4 + c]
                    float[] t0 = t[c], t1 = t[4 + c], t2 = t[8 + c], t3 = t[12 + c], t4 = t[16 + c], t5 = t[20 + c];
                    for (int tx = 0; tx < tw; tx++) {
                        int q = at0 + tx * OUT, k = k0 + tx;
                        float y0 = pad[q], y1 = pad[q + pw], y2 = pad[q + 2 * pw], y3 = pad[q + 3 * pw];
                        t0[k] = y0;
                        t1[k] = y0 + y1 + y2 + y3;
                        t2[k] = y0 - y1 + y2 - y3;
                        t3[k] = y0 + 2 * y1 + 4 * y2 + 8 * y3;
                        t4[k] = y0 - 2 * y1 + 4 * y2 - 8 * y3;
                        t5[k] = y3;
                    }
                }
            }
            for (int r = 0; r < 6; r++) aRows(t, r * OUT, v, r * 6, tiles);
            for (int q = 0; q < POS; q++)
                buf.put((int) (at + ((long) q * channels + s) * p + (long) i * tiles), v[q], 0, tiles);
        });
    }

    /** dst rows d..d+5 = A (src rows s..s+3), A the 6x4 transpose of A^T, element by element over n. */
    private static void aRows(float[][] src, int s, float[][] dst, int d, int n) {
        float[] y0 = src[s], y1 = src[s + 1], y2 = src[s + 2], y3 = src[s + 3];
        float[] o1 = dst[d + 1], o2 = dst[d + 2], o3 = dst[d + 3], o4 = dst[d + 4];
        System.arraycopy(y0, 0, dst[d], 0, n);
        for (int k = 0; k < n; k++) o1[k] = y0[k] + y1[k] + y2[k] + y3[k];
        for (int k = 0; k < n; k++) o2[k] = y0[k] - y1[k] + y2[k] - y3[k];
        for (int k = 0; k < n; k++) o3[k] = y0[k] + 2 * y1[k] + 4 * y2[k] + 8 * y3[k];
        for (int k = 0; k < n; k++) o4[k] = y0[k] - 2 * y1[k] + 4 * y2[k] - 8 * y3[k];
        System.arraycopy(y3, 0, dst[d + 5], 0, n);
    }

    /** dst rows (d + 6 r) for r = 0..3 = A^T (src rows s + 6 j, j = 0..5), element by element over n. */
    private static void atRows(float[][] src, int s, float[][] dst, int d, int n) {
        float[] m0 = src[s], m1 = src[s + 6], m2 = src[s + 12], m3 = src[s + 18], m4 = src[s + 24], m5 = src[s + 30];
        float[] o0 = dst[d], o1 = dst[d + 6], o2 = dst[d + 12], o3 = dst[d + 18];
        for (int k = 0; k < n; k++) o0[k] = m0[k] + m1[k] + m2[k] + m3[k] + m4[k];
        for (int k = 0; k < n; k++) o1[k] = m1[k] - m2[k] + 2 * (m3[k] - m4[k]);
        for (int k = 0; k < n; k++) o2[k] = m1[k] + m2[k] + 4 * (m3[k] + m4[k]);
        for (int k = 0; k < n; k++) o3[k] = m1[k] - m2[k] + 8 * (m3[k] - m4[k]) + m5[k];
    }

    /**
     * dst (+)= A^T m A (+ bias) for each tile of the products M [36][channels][(n1-n0)*tiles] at {@code at}: the
     * 4x4 outputs that lie inside the dh x dw image. One task per image and channel: A^T down the columns over
     * all tiles, then along the rows into a padded plane whose rows are added to dst whole.
     */
    private static void outputTiles(FloatBuffer buf, long at, int channels, int tw, int tiles, int n0, int n1, Buf dst,
                                    int dh, int dw, Buf bias, boolean acc) {
        float[] dd = dst.data();
        int p = (n1 - n0) * tiles, plane = dh * dw, th = tiles / tw, pw = tw * OUT;
        Par.each((n1 - n0) * channels, (long) tiles * 100, task -> {
            int i = task / channels, s = task % channels, base = dst.offset() + ((n0 + i) * channels + s) * plane;
            float bv = bias == null ? 0f : bias.get(s);
            float[][] m = rows(0, tiles), t = rows(1, tiles);
            float[] o = local(2, th * OUT * pw);
            for (int q = 0; q < POS; q++)
                buf.get((int) (at + ((long) q * channels + s) * p + (long) i * tiles), m[q], 0, tiles);
            // t[r * 6 + c]: row r of A^T m for tile column c
            for (int c = 0; c < 6; c++) atRows(m, c, t, c, tiles);
            for (int ty = 0; ty < th; ty++) {
                for (int r = 0; r < OUT; r++) {
                    int row = (ty * OUT + r) * pw;
                    float[] t0 = t[r * 6], t1 = t[r * 6 + 1], t2 = t[r * 6 + 2], t3 = t[r * 6 + 3];
                    float[] t4 = t[r * 6 + 4], t5 = t[r * 6 + 5];
                    for (int tx = 0; tx < tw; tx++) {
                        int k = ty * tw + tx, q = row + tx * OUT;
                        float m0 = t0[k], m1 = t1[k], m2 = t2[k], m3 = t3[k];
                        float m4 = t4[k], m5 = t5[k];
                        o[q] = m0 + m1 + m2 + m3 + m4;
                        o[q + 1] = m1 - m2 + 2 * (m3 - m4);
                        o[q + 2] = m1 + m2 + 4 * (m3 + m4);
                        o[q + 3] = m1 - m2 + 8 * (m3 - m4) + m5;
                    }
                }
            }
            for (int yy = 0; yy < dh; yy++) {
                int row = base + yy * dw, src = yy * pw;
                if (acc) for (int xx = 0; xx < dw; xx++) dd[row + xx] += o[src + xx] + bv;
                else for (int xx = 0; xx < dw; xx++) dd[row + xx] = o[src + xx] + bv;
            }
        });
    }
}

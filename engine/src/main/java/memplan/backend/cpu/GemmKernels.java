package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Conv2d;
import memplan.ops.ConvTranspose2d;
import memplan.ops.MatMul;

import java.nio.FloatBuffer;
import java.util.Arrays;

/** Linear, MatMul and Conv2d, all lowered onto {@link Gemm}. */
final class GemmKernels {
    private GemmKernels() {
    }

    /** gb[o] (+)= sum over rows of g[row, o] (rows in order; parallel over columns). */
    static void columnSums(Buf g, int rows, int cols, Buf gb, boolean acc) {
        float[] gd = g.data(), bd = gb.data();
        int go = g.offset(), bo = gb.offset();
        Par.range(cols, Math.max(16, Par.grain(cols, rows)), (s, e) -> {
            double[] sum = new double[e - s];
            for (int r = 0; r < rows; r++) {
                int base = go + r * cols;
                for (int o = s; o < e; o++) sum[o - s] += gd[base + o];
            }
            for (int o = s; o < e; o++) K.put(bd, bo + o, (float) sum[o - s], acc);
        });
    }

    /** y = x W^T + b over the last dimension. params: weight [out, in], optional bias [out]. */
    static final class LinearK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            Buf x = a.in()[0], y = a.out()[0], w = a.params()[0];
            Buf b = a.params().length > 1 ? a.params()[1] : null;
            int in = x.shape().dim(-1), out = y.shape().dim(-1), m = x.numel() / Math.max(1, in);
            Gemm.gemm(m, out, in, x.data(), x.offset(), in, false, w.data(), w.offset(), in, true,
                    y.data(), y.offset(), out, false);
            if (b != null) {
                float[] yd = y.data(), bd = b.data();
                int yo = y.offset(), bo = b.offset();
                Par.range(m, Par.grain(m, out), (s, e) -> {
                    for (int r = s; r < e; r++) for (int o = 0; o < out; o++) yd[yo + r * out + o] += bd[bo + o];
                });
            }
        }

        @Override
        public void backward(BackwardArgs a) {
            Buf gy = a.gradOut(0);
            int in = a.node().inShapes().get(0).dim(-1), out = a.node().outShapes().get(0).dim(-1);
            int m = (int) (a.node().inShapes().get(0).numel() / Math.max(1, in));
            Buf gx = a.gradIn(0), gw = a.gradParam(0), gb = a.gradParam(1);
            if (gy == null) {
                for (int k = 0; k < 3; k++) {
                    Buf g = k == 0 ? gx : k == 1 ? gw : gb;
                    if (g != null && !(k == 0 ? a.accIn(0) : a.accParam(k - 1))) K.zero(g);
                }
                return;
            }
            if (gx != null) {
                Buf w = a.need(a.params(), 0, "param");
                Gemm.gemm(m, in, out, gy.data(), gy.offset(), out, false, w.data(), w.offset(), in, false,
                        gx.data(), gx.offset(), in, a.accIn(0));
            }
            if (gw != null) {
                Buf x = a.need(a.in(), 0, "input");
                Gemm.gemm(out, in, m, gy.data(), gy.offset(), out, true, x.data(), x.offset(), in, false,
                        gw.data(), gw.offset(), in, a.accParam(0));
            }
            if (gb != null) columnSums(gy, m, out, gb, a.accParam(1));
        }
    }

    /** Batched [..., M, K] x [..., K, N] (or [..., N, K] with transposeB). */
    static final class MatMulK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            boolean tb = ((MatMul) a.node().op()).transposeB();
            Buf x = a.in()[0], z = a.in()[1], y = a.out()[0];
            Shape as = x.shape();
            int m = as.dim(-2), k = as.dim(-1), n = y.shape().dim(-1);
            int batch = (int) as.numel(0, as.rank() - 2);
            batched(batch, (long) m * n * k, (bi, par) -> mm(par, m, n, k, x.data(), x.offset() + bi * m * k, k, false,
                    z.data(), z.offset() + bi * k * n, tb ? k : n, tb, y.data(), y.offset() + bi * m * n, n, false));
        }

        @Override
        public void backward(BackwardArgs a) {
            boolean tb = ((MatMul) a.node().op()).transposeB();
            Shape as = a.node().inShapes().get(0);
            int m = as.dim(-2), k = as.dim(-1), n = a.node().outShapes().get(0).dim(-1);
            int batch = (int) as.numel(0, as.rank() - 2);
            Buf gy = a.gradOut(0), ga = a.gradIn(0), gb = a.gradIn(1);
            if (gy == null) {
                if (ga != null && !a.accIn(0)) K.zero(ga);
                if (gb != null && !a.accIn(1)) K.zero(gb);
                return;
            }
            Buf av = gb != null ? a.need(a.in(), 0, "input") : null;
            Buf bv = ga != null ? a.need(a.in(), 1, "input") : null;
            boolean accA = a.accIn(0), accB = a.accIn(1);
            batched(batch, (long) m * n * k, (bi, par) -> {
                int yo = gy.offset() + bi * m * n;
                if (ga != null) {
                    // gA[M,K] = gC[M,N] op(B)^T
                    mm(par, m, k, n, gy.data(), yo, n, false, bv.data(), bv.offset() + bi * k * n, tb ? k : n, !tb,
                            ga.data(), ga.offset() + bi * m * k, k, accA);
                }
                if (gb != null) {
                    if (!tb) // gB[K,N] = A^T gC
                        mm(par, k, n, m, av.data(), av.offset() + bi * m * k, k, true, gy.data(), yo, n, false,
                                gb.data(), gb.offset() + bi * k * n, n, accB);
                    else // gB[N,K] = gC^T A
                        mm(par, n, k, m, gy.data(), yo, n, true, av.data(), av.offset() + bi * m * k, k, false,
                                gb.data(), gb.offset() + bi * k * n, k, accB);
                }
            });
        }

        interface BatchBody {
            void run(int b, boolean parallelGemm);
        }

        /**
         * Independent products: in parallel over the batch, or one after another with each GEMM parallel inside
         * when there are fewer large products than threads. Either way gives the same bits.
         */
        static void batched(int batch, long workPerProduct, BatchBody body) {
            if (batch == 1 || (batch < Par.parallelism() && workPerProduct >= 1L << 20))
                for (int b = 0; b < batch; b++) body.run(b, true);
            else Par.each(batch, b -> body.run(b, false));
        }

        static void mm(boolean par, int m, int n, int k, float[] a, int aOff, int lda, boolean ta, float[] b, int bOff,
                       int ldb, boolean tb, float[] c, int cOff, int ldc, boolean acc) {
            if (par) Gemm.gemm(m, n, k, a, aOff, lda, ta, b, bOff, ldb, tb, c, cOff, ldc, acc);
            else Gemm.gemmSeq(m, n, k, a, aOff, lda, ta, b, bOff, ldb, tb, c, cOff, ldc, acc);
        }
    }

    /**
     * 2-D convolution: 3x3 stride-1 ones by {@link WinogradConv} where it takes them, the others by im2col +
     * GEMM, one image at a time. The column matrix of an image is
     * [C*kh*kw, OH*OW] (rows ordered channel, kernel row, kernel column; group g's rows are contiguous); it lives in
     * the workspace when one is given and the images run one after another, else each image task allocates its own.
     * A pointwise convolution (1x1, stride 1, no padding) multiplies the image directly.
     */
    static final class ConvK implements CpuKernel {
        private record Geo(int n, int c, int h, int w, int o, int oh, int ow, int kh, int kw, int sh, int sw, int ph,
                           int pw, int dh, int dw, int groups) {
            int cg() { return c / groups; }
            int og() { return o / groups; }
            int kk() { return kh * kw; }
            int rowsG() { return cg() * kk(); }
            int ohw() { return oh * ow; }
            long colSize() { return (long) c * kk() * ohw(); }
            boolean pointwise() { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }

            static Geo of(Conv2d op, Shape x, Shape y) {
                return new Geo(x.dim(0), x.dim(1), x.dim(2), x.dim(3), y.dim(1), y.dim(2), y.dim(3), op.kernel().h(),
                        op.kernel().w(), op.stride().h(), op.stride().w(), op.padding().h(), op.padding().w(),
                        op.dilation().h(), op.dilation().w(), op.groups());
            }
        }

        @Override
        public void forward(ForwardArgs a) {
            Conv2d op = (Conv2d) a.node().op();
            Buf x = a.in()[0], y = a.out()[0], w = a.params()[0];
            Buf b = op.bias() ? a.params()[1] : null;
            if (WinogradConv.runs(op, x.shape(), y.shape())) {
                WinogradConv.forward(WinogradConv.Geo.of(x.shape(), y.shape(), op), x, w, b, y);
                return;
            }
            Geo g = Geo.of(op, x.shape(), y.shape());
            if (blas(g)) {
                forwardBlas(g, x, w, b, y);
                return;
            }
            boolean seq = g.n == 1 || Par.parallelism() == 1;
            Buf shared = seq && !g.pointwise() ? K.scratch(a.workspace(), g.colSize()) : null;
            Par.Item image = n -> {
                float[] col;
                int colOff, ldCol;
                if (g.pointwise()) {
                    col = x.data();
                    colOff = x.offset() + n * g.c * g.h * g.w;
                } else {
                    Buf cb = shared != null ? shared : K.threadScratch(g.colSize());
                    im2col(g, x, n, cb, !seq);
                    col = cb.data();
                    colOff = cb.offset();
                }
                ldCol = g.ohw();
                for (int gi = 0; gi < g.groups; gi++) {
                    int yOff = y.offset() + (n * g.o + gi * g.og()) * g.ohw();
                    MatMulK.mm(seq, g.og(), g.ohw(), g.rowsG(), w.data(),
                            w.offset() + gi * g.og() * g.rowsG(), g.rowsG(), false,
                            col, colOff + gi * g.rowsG() * g.ohw(), ldCol, false, y.data(), yOff, g.ohw(), false);
                }
                if (b != null) {
                    float[] yd = y.data();
                    for (int o = 0; o < g.o; o++) {
                        float bv = b.get(o);
                        int base = y.offset() + (n * g.o + o) * g.ohw();
                        for (int p = 0; p < g.ohw(); p++) yd[base + p] += bv;
                    }
                }
            };
            if (seq) for (int n = 0; n < g.n; n++) image.run(n);
            else Par.each(g.n, image);
        }

        /**
         * Floats of off-heap staging a convolution's products may give its images' operands (columns and output
         * or its gradient: 16 MiB, the same for every thread count and batch), beside the weights and their
         * gradient: its images go in groups that fit. Smaller groups keep a product's columns in cache between
         * the im2col that writes them and the GEMM that reads them: on ResNet-18's shapes at batch 8 (1 thread)
         * 2^22 ran conv1 and the first stages 1.3-1.5x as fast as one product over all images. Package-visible
         * so that a test can make groups of a small convolution.
         */
        static long stageFloats = 1L << 22;

        /**
         * Images per OpenBLAS product: as many as fit in {@link #stageFloats} (at least one), then evened out over
         * the groups (8 images that fit 6 at a time go as 4 + 4). A function of the shape only.
         */
        static int imagesPerProduct(int n, int o, int rows, int ohw) {
            long perImage = (long) (rows + o) * ohw;
            long fit = Math.max(1, Math.min(n, stageFloats / perImage));
            long products = (n + fit - 1) / fit;
            return (int) ((n + products - 1) / products);
        }

        private static int imagesPerProduct(Geo g) {
            return imagesPerProduct(g.n, g.o, g.rowsG(), g.ohw());
        }

        /**
         * Whether the convolution runs as OpenBLAS products over groups of images: the columns of the images side
         * by side ([C*kh*kw, images*OH*OW], gathered straight into the off-heap staging), so the weights are
         * staged once per call instead of once per image, and the weight gradient sums over a group's images
         * inside one product. Ungrouped convolutions whose staging (backward's is the larger) fits.
         */
        private static boolean blas(Geo g) {
            int per = imagesPerProduct(g);
            long staged = 2L * g.o * g.rowsG() + (long) per * (g.rowsG() + g.o) * g.ohw();
            return g.groups == 1 && staged <= OpenBlasGemm.MAX_STAGED_FLOATS
                    && OpenBlasGemm.takes(g.o, per * g.ohw(), g.rowsG());
        }

        private static Im2col unfold(Geo g) {
            return new Im2col(g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.oh, g.ow);
        }

        /**
         * Writes the columns of images n0..n1-1 ([rows, (n1-n0)*ohw], image n at (n-n0)*ohw) at slot at: in parallel
         * over images, channels and, where those are too few to keep every thread busy (ResNet's stem: one image of
         * three channels per product), blocks of output rows.
         */
        private static void columns(Geo g, Im2col un, Buf x, int n0, int n1, FloatBuffer buf, int at) {
            int ohw = g.ohw(), nc = n1 - n0, cols = nc * ohw, rows = g.rowsG(), plane = g.c * g.h * g.w, kk = g.kk();
            if (g.pointwise()) {
                // a 1x1 stride-1 convolution's columns are the image itself
                Par.each(nc, (long) rows * ohw, i -> {
                    int srcOff = x.offset() + (n0 + i) * plane, dst = at + i * ohw;
                    for (int r = 0; r < rows; r++) buf.put(dst + r * cols, x.data(), srcOff + r * ohw, ohw);
                });
                return;
            }
            int blocks = (int) Math.max(1, Math.min(g.oh, (8L * Par.parallelism() + (long) nc * g.c - 1)
                    / ((long) nc * g.c)));
            Par.each(nc * g.c * blocks, (long) kk * ohw / blocks, t -> {
                int i = t / (g.c * blocks), c = t / blocks % g.c, b = t % blocks;
                int i0 = b * g.oh / blocks, i1 = (b + 1) * g.oh / blocks, seg = (i1 - i0) * g.ow;
                if (seg == 0) return;
                // the channel's rows for these output rows through a cache-resident scratch, then into the staging
                float[] part = K.threadScratch((long) kk * seg).data();
                un.channelRows(x.data(), x.offset() + (n0 + i) * plane, c, 0, kk, i0, i1, part, 0, seg);
                int dst = at + c * kk * cols + i * ohw + i0 * g.ow;
                if (seg == cols) buf.put(dst, part, 0, kk * seg); // one image's whole rows follow each other
                else for (int q = 0; q < kk; q++) buf.put(dst + q * cols, part, q * seg, seg);
            });
        }

        /**
         * Copies {@code len} floats of {@code a} into the staging at slot {@code at} (out of it, when {@code out}), in
         * parallel pieces: a deep layer's weights (9 MiB in ResNet's last stage) took a millisecond on one thread.
         */
        private static void staged(FloatBuffer buf, int at, float[] a, int off, int len, boolean out) {
            int piece = 1 << 16, pieces = (len + piece - 1) / piece;
            OpenBlasGemm.copy(true, pieces, piece, r -> {
                int s = r * piece, l = Math.min(piece, len - s);
                if (out) buf.get(at + s, a, off + s, l);
                else buf.put(at + s, a, off + s, l);
            });
        }

        /** Writes (reads, when {@code out}) rows-by-ohw planes of images n0..n1-1 of t as [rows, (n1-n0)*ohw]. */
        private static void planes(Buf t, int rows, int ohw, int n0, int n1, FloatBuffer buf, int at, boolean out) {
            int cols = (n1 - n0) * ohw;
            Par.each(n1 - n0, (long) rows * ohw, i -> {
                int src = t.offset() + (n0 + i) * rows * ohw, dst = at + i * ohw;
                for (int r = 0; r < rows; r++) {
                    if (out) buf.get(dst + r * cols, t.data(), src + r * ohw, ohw);
                    else buf.put(dst + r * cols, t.data(), src + r * ohw, ohw);
                }
            });
        }

        /** Per group of images: Y [O, images*ohw] = W [O, rows] x columns, scattered to y with the bias added. */
        private static void forwardBlas(Geo g, Buf x, Buf w, Buf b, Buf y) {
            int ohw = g.ohw(), rows = g.rowsG(), per = imagesPerProduct(g), wLen = g.o * rows;
            int colAt = wLen, yAt = colAt + rows * per * ohw;
            FloatBuffer buf = OpenBlasGemm.stage((long) yAt + (long) g.o * per * ohw);
            staged(buf, 0, w.data(), w.offset(), wLen, false);
            Im2col un = unfold(g);
            for (int n0 = 0; n0 < g.n; n0 += per) {
                int n1 = Math.min(g.n, n0 + per), nc = n1 - n0, cols = nc * ohw, first = n0;
                columns(g, un, x, n0, n1, buf, colAt);
                OpenBlasGemm.multiply(g.o, cols, rows, false, 0, false, colAt, yAt, false, true);
                Par.each(nc, (long) g.o * ohw, i -> {
                    float[] yd = y.data();
                    for (int o = 0; o < g.o; o++) {
                        int dst = y.offset() + ((first + i) * g.o + o) * ohw;
                        buf.get(yAt + o * cols + i * ohw, yd, dst, ohw);
                        if (b != null) {
                            float bv = b.get(o);
                            for (int p = 0; p < ohw; p++) yd[dst + p] += bv;
                        }
                    }
                });
            }
        }

        /**
         * Per group of images, gY [O, images*ohw] staged once for both gradients: gW [O, rows] (+)= gY x columns^T
         * (the sum over a group's images inside the product's K, groups added in order), then colG [rows,
         * images*ohw] = W^T gY in the columns' place and col2im per image (in parallel, each image's channels in
         * order).
         */
        private static void backwardBlas(Geo g, BackwardArgs a, Buf gy, Buf gx, Buf gw) {
            int ohw = g.ohw(), rows = g.rowsG(), plane = g.c * g.h * g.w, per = imagesPerProduct(g);
            int wLen = g.o * rows, gwAt = wLen, gyAt = 2 * wLen, colAt = gyAt + g.o * per * ohw;
            FloatBuffer buf = OpenBlasGemm.stage((long) colAt + (long) rows * per * ohw);
            Buf x = gw != null ? a.need(a.in(), 0, "input") : null;
            Buf w = gx != null ? a.need(a.params(), 0, "param") : null;
            boolean accW = gw != null && a.accParam(0), accX = gx != null && a.accIn(0);
            if (w != null) staged(buf, 0, w.data(), w.offset(), wLen, false);
            if (accW) staged(buf, gwAt, gw.data(), gw.offset(), wLen, false);
            Im2col un = unfold(g);
            for (int n0 = 0; n0 < g.n; n0 += per) {
                int n1 = Math.min(g.n, n0 + per), cols = (n1 - n0) * ohw, first = n0;
                planes(gy, g.o, ohw, n0, n1, buf, gyAt, false);
                if (gw != null) {
                    columns(g, un, x, n0, n1, buf, colAt);
                    OpenBlasGemm.multiply(g.o, rows, cols, false, gyAt, true, colAt, gwAt, accW || n0 > 0, true);
                }
                if (gx == null) continue;
                if (g.pointwise()) {
                    // the columns' gradient is the input's gradient itself
                    if (accX) planes(gx, rows, ohw, n0, n1, buf, colAt, false);
                    OpenBlasGemm.multiply(rows, cols, g.o, true, 0, false, gyAt, colAt, accX, true);
                    planes(gx, rows, ohw, n0, n1, buf, colAt, true);
                    continue;
                }
                OpenBlasGemm.multiply(rows, cols, g.o, true, 0, false, gyAt, colAt, false, true);
                int nc = n1 - n0, kk = g.kk();
                Par.each(nc * g.c, (long) kk * ohw, t -> {
                    // col2im of one image's channel: its rows out of the staging, added in order into its plane
                    int i = t / g.c, c = t % g.c, src = colAt + c * kk * cols + i * ohw;
                    float[] part = K.threadScratch((long) kk * ohw).data();
                    if (cols == ohw) buf.get(src, part, 0, kk * ohw);
                    else for (int q = 0; q < kk; q++) buf.get(src + q * cols, part, q * ohw, ohw);
                    un.addChannel(part, 0, ohw, c, gx.data(), gx.offset() + (first + i) * plane, accX);
                });
            }
            if (gw != null) staged(buf, gwAt, gw.data(), gw.offset(), wLen, true);
        }

        /** col[r*ohw + p] for the rows r = (c, u, v) of image n; zero outside the image. */
        private static void im2col(Geo g, Buf x, int n, Buf col, boolean inParallelImages) {
            Im2col un = new Im2col(g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.oh, g.ow);
            int xBase = x.offset() + n * g.c * g.h * g.w;
            Par.Range rows = (s, e) -> un.rows(x.data(), xBase, col.data(), col.offset(), s, e);
            int nr = g.c * g.kk();
            if (inParallelImages) rows.run(0, nr);
            else Par.range(nr, Par.grain(nr, g.ohw()), rows);
        }

        /** gx[n] (+)= col2im(colg): parallel over channels; each channel's rows are added in order. */
        private static void col2im(Geo g, Buf colg, Buf gx, int n, boolean acc, boolean inParallelImages) {
            Im2col un = new Im2col(g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.oh, g.ow);
            int xBase = gx.offset() + n * g.c * g.h * g.w;
            Par.Range chans = (s, e) -> un.addChannels(colg.data(), colg.offset(), gx.data(), xBase, s, e, acc);
            if (inParallelImages) chans.run(0, g.c);
            else Par.range(g.c, Par.grain(g.c, (long) g.kk() * g.ohw()), chans);
        }

        @Override
        public void backward(BackwardArgs a) {
            Conv2d op = (Conv2d) a.node().op();
            Geo g = Geo.of(op, a.node().inShapes().get(0), a.node().outShapes().get(0));
            Buf gy = a.gradOut(0), gx = a.gradIn(0), gw = a.gradParam(0), gb = op.bias() ? a.gradParam(1) : null;
            if (K.zeroWithoutGradient(a, gy, gx, gw, gb)) return;
            if (gb != null) channelBiasGrad(gy, gb, g.n, g.o, g.ohw(), a.accParam(1));
            Shape in = a.node().inShapes().get(0), out = a.node().outShapes().get(0);
            if (WinogradConv.runs(op, in, out)) {
                WinogradConv.backward(WinogradConv.Geo.of(in, out, op), a, gy, gx, gw);
                return;
            }
            if (blas(g)) {
                backwardBlas(g, a, gy, gx, gw);
                return;
            }
            Buf shared = g.pointwise() ? null : K.scratch(a.workspace(), g.colSize());
            if (gw != null) {
                // images in order (a fixed summation order); each GEMM runs in parallel over its tiles
                Buf x = a.need(a.in(), 0, "input");
                for (int n = 0; n < g.n; n++) {
                    float[] col;
                    int colOff;
                    if (g.pointwise()) {
                        col = x.data();
                        colOff = x.offset() + n * g.c * g.h * g.w;
                    } else {
                        im2col(g, x, n, shared, false);
                        col = shared.data();
                        colOff = shared.offset();
                    }
                    boolean acc = n > 0 || a.accParam(0);
                    for (int gi = 0; gi < g.groups; gi++)
                        Gemm.gemm(g.og(), g.rowsG(), g.ohw(), gy.data(),
                                gy.offset() + (n * g.o + gi * g.og()) * g.ohw(), g.ohw(), false,
                                col, colOff + gi * g.rowsG() * g.ohw(), g.ohw(), true,
                                gw.data(), gw.offset() + gi * g.og() * g.rowsG(), g.rowsG(), acc);
                }
            }
            if (gx != null) {
                Buf w = a.need(a.params(), 0, "param");
                boolean seq = g.n == 1 || Par.parallelism() == 1;
                boolean acc = a.accIn(0);
                Par.Item image = n -> {
                    Buf colg = null;
                    if (!g.pointwise())
                        colg = seq ? shared : K.threadScratch(g.colSize());
                    for (int gi = 0; gi < g.groups; gi++) {
                        int yOff = gy.offset() + (n * g.o + gi * g.og()) * g.ohw();
                        float[] dst = g.pointwise() ? gx.data() : colg.data();
                        int dOff = g.pointwise() ? gx.offset() + (n * g.c + gi * g.cg()) * g.h * g.w
                                : colg.offset() + gi * g.rowsG() * g.ohw();
                        MatMulK.mm(seq, g.rowsG(), g.ohw(), g.og(), w.data(),
                                w.offset() + gi * g.og() * g.rowsG(), g.rowsG(), true,
                                gy.data(), yOff, g.ohw(), false, dst, dOff, g.ohw(), g.pointwise() && acc);
                    }
                    if (!g.pointwise()) col2im(g, colg, gx, n, acc, !seq);
                };
                if (seq) for (int n = 0; n < g.n; n++) image.run(n);
                else Par.each(g.n, image);
            }
        }
    }

    /**
     * Transposed convolution: per image and group, col = W_g^T x_g (a [out/g * kh * kw, H * W] matrix by GEMM),
     * then col2im scatters col into the output (which starts at the bias). This is exactly the data gradient of
     * a Conv2d with the same geometry. Backward: im2col of the output gradient gives gcol; gx_g = W_g gcol_g,
     * gW_g += x_g gcol_g^T (images in order), gb = sums over images and pixels.
     */
    static final class ConvTransposeK implements CpuKernel {
        /** c/cg: input channels; o/og: output channels; (h, w): input size; (oh, ow): output size. */
        private record Geo(int n, int c, int h, int w, int o, int oh, int ow, int kh, int kw,
                int sh, int sw, int ph, int pw,
                           int dh, int dw, int groups) {
            int cg() { return c / groups; }
            int og() { return o / groups; }
            int kk() { return kh * kw; }
            int rowsG() { return og() * kk(); }
            int hw() { return h * w; }
            long colSize() { return (long) o * kk() * hw(); }

            static Geo of(ConvTranspose2d op, Shape x, Shape y) {
                return new Geo(x.dim(0), x.dim(1), x.dim(2), x.dim(3), y.dim(1), y.dim(2), y.dim(3),
                        op.kernel().h(), op.kernel().w(),
                        op.stride().h(), op.stride().w(), op.padding().h(), op.padding().w(),
                                op.dilation().h(), op.dilation().w(),
                        op.groups());
            }
        }

        /** y[n] += col2im(col): parallel over output channels; each channel's rows added in order. */
        private static void col2im(Geo g, Buf col, Buf y, int n) {
            Im2col un = new Im2col(g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.h, g.w);
            int yBase = y.offset() + n * g.o * g.oh * g.ow;
            Par.range(g.o, Par.grain(g.o, (long) g.kk() * g.hw()), (s, e) -> un.addChannels(col.data(), col.offset(),
                    y.data(), yBase, s, e, true));
        }

        /** col[(oc, u, v), (i, j)] = gy[n, oc, i sh - ph + u dh, j sw - pw + v dw] (zero outside). */
        private static void im2col(Geo g, Buf gy, int n, Buf col) {
            Im2col un = new Im2col(g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.h, g.w);
            int yBase = gy.offset() + n * g.o * g.oh * g.ow;
            int rows = g.o * g.kk();
            Par.range(rows, Par.grain(rows, g.hw()), (s, e) -> un.rows(gy.data(), yBase,
                    col.data(), col.offset(), s, e));
        }

        @Override
        public void forward(ForwardArgs a) {
            ConvTranspose2d op = (ConvTranspose2d) a.node().op();
            Buf x = a.in()[0], y = a.out()[0], w = a.params()[0];
            Buf b = op.bias() ? a.params()[1] : null;
            Geo g = Geo.of(op, x.shape(), y.shape());
            Buf col = K.scratch(a.workspace(), g.colSize());
            int ohw = g.oh * g.ow;
            for (int n = 0; n < g.n; n++) {
                for (int gi = 0; gi < g.groups; gi++)
                    // col_g [og*kk, hw] = W_g^T, W_g = weight rows of group gi: [cg, og*kk]
                    Gemm.gemm(g.rowsG(), g.hw(), g.cg(), w.data(), w.offset()
                            + gi * g.cg() * g.rowsG(), g.rowsG(), true,
                            x.data(), x.offset() + (n * g.c + gi * g.cg()) * g.hw(), g.hw(), false,
                            col.data(), col.offset() + gi * g.rowsG() * g.hw(), g.hw(), false);
                float[] yd = y.data();
                for (int oc = 0; oc < g.o; oc++) {
                    int base = y.offset() + (n * g.o + oc) * ohw;
                    Arrays.fill(yd, base, base + ohw, b == null ? 0f : b.get(oc));
                }
                col2im(g, col, y, n);
            }
        }

        @Override
        public void backward(BackwardArgs a) {
            ConvTranspose2d op = (ConvTranspose2d) a.node().op();
            Geo g = Geo.of(op, a.node().inShapes().get(0), a.node().outShapes().get(0));
            Buf gy = a.gradOut(0), gx = a.gradIn(0), gw = a.gradParam(0), gb = op.bias() ? a.gradParam(1) : null;
            if (K.zeroWithoutGradient(a, gy, gx, gw, gb)) return;
            if (gb != null) channelBiasGrad(gy, gb, g.n, g.o, g.oh * g.ow, a.accParam(1));
            if (gx == null && gw == null) return;
            Buf x = gw != null ? a.need(a.in(), 0, "input") : null;
            Buf w = gx != null ? a.need(a.params(), 0, "param") : null;
            Buf col = K.scratch(a.workspace(), g.colSize());
            for (int n = 0; n < g.n; n++) {
                im2col(g, gy, n, col);
                for (int gi = 0; gi < g.groups; gi++) {
                    int colOff = col.offset() + gi * g.rowsG() * g.hw();
                    int xOff = (n * g.c + gi * g.cg()) * g.hw();
                    if (gx != null) // gx_g [cg, hw] = W_g [cg, og*kk] gcol_g [og*kk, hw]
                        Gemm.gemm(g.cg(), g.hw(), g.rowsG(), w.data(),
                                w.offset() + gi * g.cg() * g.rowsG(), g.rowsG(), false,
                                col.data(), colOff, g.hw(), false, gx.data(), gx.offset() + xOff, g.hw(), a.accIn(0));
                    if (gw != null) // gW_g [cg, og*kk] (+)= x_g [cg, hw] gcol_g^T
                        Gemm.gemm(g.cg(), g.rowsG(), g.hw(), x.data(), x.offset() + xOff, g.hw(), false,
                                col.data(), colOff, g.hw(), true, gw.data(),
                                        gw.offset() + gi * g.cg() * g.rowsG(), g.rowsG(),
                                n > 0 || a.accParam(0));
                }
            }
        }
    }

    /**
     * gb[c] (+)= the sum of gy[n, c, :] over images and positions, for a [N, C, spatial] gradient: the bias gradient
     * of both convolutions. Parallel over channels; each sums in double, images then positions, so it is
     * deterministic.
     */
    private static void channelBiasGrad(Buf gy, Buf gb, int images, int channels, int spatial, boolean acc) {
        float[] yd = gy.data();
        Par.range(channels, Par.grain(channels, (long) images * spatial), (s, e) -> {
            for (int c = s; c < e; c++) {
                double sum = 0;
                for (int n = 0; n < images; n++) {
                    int base = gy.offset() + (n * channels + c) * spatial;
                    for (int p = 0; p < spatial; p++) sum += yd[base + p];
                }
                K.put(gb.data(), gb.offset() + c, (float) sum, acc);
            }
        });
    }
}

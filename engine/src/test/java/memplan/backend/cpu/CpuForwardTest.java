package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Mul;
import memplan.ops.*;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Forward results against small cases computed by hand, and in-place (aliased) runs. */
class CpuForwardTest {
    private static Shape s(int... d) {
        return Shape.of(d);
    }

    private static void set(Buf b, float... v) {
        for (int i = 0; i < v.length; i++) b.set(i, v[i]);
    }

    @Test
    void convPaddingStride() {
        // x = 1..9 (3x3), 2x2 kernel of ones, padding 1, stride 2 -> 2x2 output
        CpuHarness h = new CpuHarness(new Conv2d(1, Pair.of(2), Pair.of(2), Pair.of(1), Pair.of(1), 1, false), s(1, 1, 3, 3));
        set(h.in[0], 1, 2, 3, 4, 5, 6, 7, 8, 9);
        h.params[0].fill(1f);
        h.forward();
        assertArrayEquals(new float[]{1, 5, 11, 28}, h.out[0].toArray());
    }

    @Test
    void convDilationAndBias() {
        // 2x2 kernel of ones with dilation 2 over 3x3 sums the corners; bias 0.5
        CpuHarness h = new CpuHarness(new Conv2d(1, Pair.of(2), Pair.of(1), Pair.of(0), Pair.of(2), 1, true), s(1, 1, 3, 3));
        set(h.in[0], 1, 2, 3, 4, 5, 6, 7, 8, 9);
        h.params[0].fill(1f);
        h.params[1].fill(0.5f);
        h.forward();
        assertArrayEquals(new float[]{20.5f}, h.out[0].toArray());
    }

    @Test
    void convGroups() {
        // groups 2, 1x1: y0 = 2 x0, y1 = 3 x1 (no mixing across groups)
        CpuHarness h = new CpuHarness(new Conv2d(2, Pair.of(1), Pair.of(1), Pair.of(0), Pair.of(1), 2, false), s(1, 2, 1, 2));
        set(h.in[0], 1, 2, 10, 20);
        set(h.params[0], 2, 3);
        h.forward();
        assertArrayEquals(new float[]{2, 4, 30, 60}, h.out[0].toArray());
        // groups 2 with a 3x3 kernel, padding 1: the centre tap only
        CpuHarness g = new CpuHarness(new Conv2d(2, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 2, false), s(1, 2, 2, 2));
        set(g.in[0], 1, 2, 3, 4, 5, 6, 7, 8);
        g.params[0].fill(0f);
        g.params[0].set(4, 1f);      // out 0, centre
        g.params[0].set(9 + 4, -1f); // out 1, centre
        g.forward();
        assertArrayEquals(new float[]{1, 2, 3, 4, -5, -6, -7, -8}, g.out[0].toArray());
    }

    @Test
    void maxPoolValuesAndIndices() {
        CpuHarness h = new CpuHarness(new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), s(1, 1, 4, 4));
        set(h.in[0], 1, 9, 2, 3,
                4, 5, 8, 1,
                0, 0, 1, 1,
                7, 0, 1, 6);
        h.forward();
        assertArrayEquals(new float[]{9, 8, 7, 6}, h.out[0].toArray());
        long[] idx = new long[4];
        for (int i = 0; i < 4; i++) idx[i] = h.aux[0].getLong(i);
        assertArrayEquals(new long[]{1, 6, 12, 15}, idx);
    }

    @Test
    void maxPoolKeepsTheFirstMaximumAndItsBits() {
        // ties: the first wins; -0 before +0 compare equal, so the first (-0) is kept, bits and all; NaN wins
        CpuHarness h = new CpuHarness(new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), s(1, 1, 2, 6));
        set(h.in[0], 3, 1, -0f, 0f, 2, Float.NaN,
                2, 3, 0f, -1, 7, 1);
        h.forward();
        float[] y = h.out[0].toArray();
        assertEquals(3f, y[0]);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(y[1]));
        assertTrue(Float.isNaN(y[2]));
        long[] idx = new long[3];
        for (int i = 0; i < 3; i++) idx[i] = h.aux[0].getLong(i);
        assertArrayEquals(new long[]{0, 2, 5}, idx);
    }

    @Test
    void maxPoolMatchesCompareAndKeepOnHostileValues() {
        // the branch-free path of the kernel against PyTorch's loop (first of the largest, the first NaN wins,
        // padding never does) on ties, zeros of both signs, NaNs of both signs and infinities, for windows that
        // are all inside, clipped by padding, and overhanging the last row or column
        java.util.Random r = new java.util.Random(7);
        float[] pool = {0f, -0f, 1f, -1f, 2f, Float.NaN, Float.intBitsToFloat(0xffc00001), Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, 0.5f};
        int[][] cases = {{3, 3, 2, 2, 1, 1, 9, 11}, {2, 2, 2, 2, 0, 0, 7, 8}, {3, 2, 1, 2, 1, 1, 5, 6},
                {3, 3, 3, 3, 0, 0, 10, 10}, {1, 3, 1, 1, 0, 1, 4, 3}, {3, 3, 2, 2, 1, 1, 2, 2}};
        for (int[] c : cases) {
            int kh = c[0], kw = c[1], sh = c[2], sw = c[3], ph = c[4], pw = c[5], h = c[6], w = c[7];
            CpuHarness hs = new CpuHarness(new MaxPool2d(new Pair(kh, kw), new Pair(sh, sw), new Pair(ph, pw)),
                    s(2, 3, h, w));
            float[] x = new float[hs.in[0].numel()];
            for (int i = 0; i < x.length; i++) x[i] = r.nextInt(3) == 0 ? pool[r.nextInt(pool.length)] : r.nextInt(4);
            set(hs.in[0], x);
            hs.forward();
            int oh = hs.out[0].shape().dim(2), ow = hs.out[0].shape().dim(3);
            float[] y = hs.out[0].toArray();
            for (int p = 0; p < 6; p++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        float best = Float.NEGATIVE_INFINITY;
                        int arg = -1;
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++) {
                                int hi = i * sh - ph + u, wi = j * sw - pw + v;
                                if (hi < 0 || hi >= h || wi < 0 || wi >= w) continue;
                                float val = x[p * h * w + hi * w + wi];
                                if (arg < 0 || val > best || val != val && best == best) {
                                    best = val;
                                    arg = hi * w + wi;
                                }
                            }
                        int o = p * oh * ow + i * ow + j;
                        String at = java.util.Arrays.toString(c) + " plane " + p + " (" + i + ", " + j + ")";
                        assertEquals(arg, hs.aux[0].getLong(o), at);
                        assertEquals(Float.floatToRawIntBits(best), Float.floatToRawIntBits(y[o]), at);
                    }
        }
    }

    @Test
    void maxPoolPaddingNeverWins() {
        CpuHarness h = new CpuHarness(new MaxPool2d(Pair.of(3), Pair.of(1), Pair.of(1)), s(1, 1, 2, 2));
        set(h.in[0], -4, -3, -2, -1);
        h.forward();
        assertArrayEquals(new float[]{-1, -1, -1, -1}, h.out[0].toArray());
        for (int i = 0; i < 4; i++) assertEquals(3, h.aux[0].getLong(i));
    }

    @Test
    void avgPoolCountsPaddingAsZero() {
        CpuHarness h = new CpuHarness(new AvgPool2d(Pair.of(3), Pair.of(1), Pair.of(1)), s(1, 1, 2, 2));
        set(h.in[0], 9, 9, 9, 9);
        h.forward();
        assertArrayEquals(new float[]{4, 4, 4, 4}, h.out[0].toArray());
    }

    @Test
    void attentionCausalMask() {
        // T = 2, D = 1, q = k = 1: equal scores. v = [1, 3]. Causal row 0 sees only key 0.
        CpuHarness c = new CpuHarness(new Attention(1, true), s(1, 2, 1), s(1, 2, 1), s(1, 2, 1));
        set(c.in[0], 1, 1);
        set(c.in[1], 1, 1);
        set(c.in[2], 1, 3);
        c.forward();
        assertArrayEquals(new float[]{1, 2}, c.out[0].toArray(), 1e-6f);
        assertEquals(1f, c.aux[0].get(0), 1e-6f);                        // lse row 0 = score 1
        assertEquals(1 + Math.log(2), c.aux[0].get(1), 1e-6);
        CpuHarness n = new CpuHarness(new Attention(1, false), s(1, 2, 1), s(1, 2, 1), s(1, 2, 1));
        set(n.in[0], 1, 1);
        set(n.in[1], 1, 1);
        set(n.in[2], 1, 3);
        n.forward();
        assertArrayEquals(new float[]{2, 2}, n.out[0].toArray(), 1e-6f);
    }

    @Test
    void attentionHeadsAreSeparate() {
        // 2 heads of width 1; head 0 keys favour position 1 strongly, head 1 is uniform
        CpuHarness h = new CpuHarness(new Attention(2, false), s(1, 1, 2), s(1, 2, 2), s(1, 2, 2));
        set(h.in[0], 1, 0);
        set(h.in[1], 0, 0, 50, 0); // head 0 scores 0 and 50; head 1 scores 0, 0
        set(h.in[2], 1, 10, 2, 20);
        h.forward();
        assertEquals(2f, h.out[0].get(0), 1e-5f);
        assertEquals(15f, h.out[0].get(1), 1e-5f);
    }

    @Test
    void crossEntropyValue() {
        CpuHarness h = new CpuHarness(new CrossEntropy(1), s(2, 3), s(2));
        set(h.in[0], 0, 0, 0, 1, 2, 3);
        h.in[1].setLong(0, 0);
        h.in[1].setLong(1, 2);
        h.forward();
        double l1 = Math.log(3), l2 = -Math.log(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
        assertEquals((l1 + l2) / 2, h.out[0].get(0), 1e-6);
        assertEquals(-Math.log(3), h.aux[0].get(0), 1e-6);
    }

    @Test
    void crossEntropyRejectsBadTarget() {
        CpuHarness h = new CpuHarness(new CrossEntropy(1), s(1, 3), s(1));
        h.in[1].setLong(0, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, h::forward);
        assertTrue(e.getMessage().contains("target 3"), e.getMessage());
    }

    @Test
    void mseValueAndOtherSmallOps() {
        CpuHarness m = new CpuHarness(new MseLoss(), s(2), s(2));
        set(m.in[0], 1, 2);
        set(m.in[1], 0, 4);
        m.forward();
        assertEquals(2.5f, m.out[0].get(0), 1e-6f);

        CpuHarness g = new CpuHarness(new GELU(), s(3));
        set(g.in[0], 0, 1, -1);
        g.forward();
        assertEquals(0f, g.out[0].get(0));
        assertEquals(0.841192f, g.out[0].get(1), 1e-5f);   // torch.nn.functional.gelu(1, approximate='tanh')
        assertEquals(-0.158808f, g.out[0].get(2), 1e-5f);

        CpuHarness u = new CpuHarness(new Upsample(2), s(1, 1, 1, 2));
        set(u.in[0], 1, 2);
        u.forward();
        assertArrayEquals(new float[]{1, 1, 2, 2, 1, 1, 2, 2}, u.out[0].toArray());

        CpuHarness t = new CpuHarness(new Transpose(java.util.List.of(1, 0)), s(2, 3));
        set(t.in[0], 1, 2, 3, 4, 5, 6);
        t.forward();
        assertArrayEquals(new float[]{1, 4, 2, 5, 3, 6}, t.out[0].toArray());

        CpuHarness sm = new CpuHarness(new Softmax(), s(1, 2));
        set(sm.in[0], 0, (float) Math.log(3));
        sm.forward();
        assertArrayEquals(new float[]{0.25f, 0.75f}, sm.out[0].toArray(), 1e-6f);

        CpuHarness ln = new CpuHarness(new LayerNorm(0), s(1, 2));
        set(ln.in[0], 1, 3);
        ln.params[0].fill(1f);
        ln.params[1].fill(0f);
        ln.forward();
        assertArrayEquals(new float[]{-1, 1}, ln.out[0].toArray(), 1e-6f);
    }

    @Test
    void lstmCellGateOrder() {
        // zero weights; biases put i, f, g, o pre-activations at known values
        CpuHarness h = new CpuHarness(new LSTMCell(1), s(1, 1), s(1, 1), s(1, 1));
        for (int p = 0; p < 4; p++) h.params[p].fill(0f);
        set(h.params[2], 0, 100, 0.5f, -100); // i = 0.5, f = 1, g = tanh(0.5), o = 0
        h.in[2].set(0, 2f);
        h.forward();
        float g = (float) Math.tanh(0.5);
        assertEquals(2f + 0.5f * g, h.out[1].get(0), 1e-6f);
        assertEquals(0f, h.out[0].get(0), 1e-6f);
        assertArrayEquals(new float[]{0.5f, 1f, g, 0f}, h.aux[0].toArray(), 1e-6f);
    }

    @Test
    void dropoutMaskIsCounterBasedAndScaled() {
        CpuHarness h = new CpuHarness(new Dropout(0.5), s(1000));
        h.in[0].fill(1f);
        h.forward();
        float[] y = h.out[0].toArray();
        int kept = 0;
        for (int i = 0; i < 1000; i++) {
            assertTrue(y[i] == 0f || y[i] == 2f);
            assertEquals(y[i] != 0f ? 1 : 0, h.aux[0].getByte(i));
            kept += h.aux[0].getByte(i);
        }
        assertTrue(kept > 400 && kept < 600, "kept " + kept);
        h.forward(true, true);
        assertArrayEquals(y, h.out[0].toArray());
        h.seed = 43;
        h.forward();
        assertFalse(java.util.Arrays.equals(y, h.out[0].toArray()), "another seed draws another mask");
        h.forward(false, false);
        assertArrayEquals(h.in[0].toArray(), h.out[0].toArray(), "eval mode is the identity");
    }

    // ---- in place

    @Test
    void reluInPlace() {
        CpuHarness h = new CpuHarness(new ReLU(), s(3, 5));
        float[] x = h.in[0].toArray();
        h.forward();
        float[] expect = h.out[0].toArray();
        h.out[0] = h.in[0];
        h.forward();
        assertArrayEquals(expect, h.in[0].toArray());
        for (int i = 0; i < x.length; i++) assertEquals(Math.max(x[i], 0f), expect[i]);
        // backward with gradIn aliasing gradOut
        Buf g = h.alloc(h.in[0].shape(), DType.FP32);
        h.randomize(g, 1f);
        float[] gy = g.toArray();
        h.backward(new Buf[]{g}, new Buf[]{g}, new Buf[0], new boolean[1], new boolean[0]);
        for (int i = 0; i < x.length; i++) assertEquals(x[i] > 0 ? gy[i] : 0f, g.get(i));
    }

    @Test
    void addInPlace() {
        CpuHarness h = new CpuHarness(new Add(), s(4, 3), s(4, 3));
        float[] a = h.in[0].toArray(), b = h.in[1].toArray();
        h.out[0] = h.in[0];
        h.forward();
        for (int i = 0; i < a.length; i++) assertEquals(a[i] + b[i], h.in[0].get(i));
        Buf g = h.alloc(h.in[0].shape(), DType.FP32);
        h.randomize(g, 1f);
        float[] gy = g.toArray();
        Buf g1 = h.alloc(h.in[1].shape(), DType.FP32);
        h.backward(new Buf[]{g}, new Buf[]{g, g1}, new Buf[0], new boolean[2], new boolean[0]);
        assertArrayEquals(gy, g.toArray());
        assertArrayEquals(gy, g1.toArray());
    }

    @Test
    void dropoutInPlace() {
        CpuHarness h = new CpuHarness(new Dropout(0.4), s(6, 7));
        float[] x = h.in[0].toArray();
        h.forward();
        float[] expect = h.out[0].toArray();
        h.out[0] = h.in[0];
        h.forward();
        assertArrayEquals(expect, h.in[0].toArray());
        Buf g = h.alloc(h.in[0].shape(), DType.FP32);
        h.randomize(g, 1f);
        float[] gy = g.toArray();
        h.backward(new Buf[]{g}, new Buf[]{g}, new Buf[0], new boolean[1], new boolean[0]);
        for (int i = 0; i < x.length; i++) assertEquals(h.aux[0].getByte(i) != 0 ? gy[i] * (float) (1 / 0.6) : 0f, g.get(i));
    }

    @Test
    void reluAndMaxPoolBackwardWorkFromDecodedMask() {
        // ReLU -> MaxPool: backward of both from a 1-bit mask of the ReLU output gives the exact gradients
        CpuHarness r = new CpuHarness(new ReLU(), s(1, 2, 4, 4));
        r.forward();
        Buf mask = Buf.alloc(Shape.of((int) Codecs.maskBytes(32) / 4), DType.INT32);
        Codecs.encodeMask(r.out[0], mask);
        Buf decoded = Buf.alloc(r.out[0].shape(), DType.FP32);
        Codecs.decodeMask(mask, decoded);
        Buf gy = Buf.alloc(r.out[0].shape(), DType.FP32);
        r.randomize(gy, 1f);
        Buf g1 = Buf.alloc(gy.shape(), DType.FP32), g2 = Buf.alloc(gy.shape(), DType.FP32);
        CpuKernel k = CpuKernels.of(r.node.op());
        k.backward(new BackwardArgs(r.node, new Buf[1], new Buf[]{r.out[0]}, new Buf[0], new Buf[0], new Buf[]{gy}, new Buf[]{g1}, new Buf[0], null, null, null));
        k.backward(new BackwardArgs(r.node, new Buf[1], new Buf[]{decoded}, new Buf[0], new Buf[0], new Buf[]{gy}, new Buf[]{g2}, new Buf[0], null, null, null));
        assertArrayEquals(g1.toArray(), g2.toArray());
    }

    @Test
    void viewsAndInputHaveNoKernel() {
        assertThrows(IllegalArgumentException.class, () -> CpuKernels.of(new Input(java.util.List.of("1"), null)));
        CpuKernel v = CpuKernels.of(new Flatten(1));
        assertThrows(UnsupportedOperationException.class, () -> v.forward(null) );
    }

    @Test
    void wrongTensorsAreReportedClearly() {
        CpuHarness h = new CpuHarness(new Linear(3, true), s(2, 4));
        Buf wrong = Buf.alloc(s(2, 5), DType.FP32);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> h.kernel.forward(
                new ForwardArgs(h.node, new Buf[]{wrong}, h.out, h.params, h.aux, null, true, false, 1)));
        assertTrue(e.getMessage().contains("input 0") && e.getMessage().contains("Linear 'op'"), e.getMessage());
        Buf half = Buf.alloc(s(2, 4), DType.FP16);
        e = assertThrows(IllegalArgumentException.class, () -> h.kernel.forward(
                new ForwardArgs(h.node, new Buf[]{half}, h.out, h.params, h.aux, null, true, false, 1)));
        assertTrue(e.getMessage().contains("fp32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> h.kernel.forward(
                new ForwardArgs(h.node, h.in, h.out, new Buf[]{h.params[0]}, h.aux, null, true, false, 1)));
        assertTrue(e.getMessage().contains("param"), e.getMessage());
    }

    @Test
    void fastTanhAgreesWithMathTanh() {
        java.util.Random r = new java.util.Random(2);
        for (int i = 0; i < 100_000; i++) {
            double x = r.nextGaussian() * (i % 2 == 0 ? 1 : 20);
            float a = (float) K.tanh(x), b = (float) Math.tanh(x);
            assertTrue(Math.abs(a - b) <= Math.ulp(b), x + ": " + a + " vs " + b);
        }
        // small arguments, down to denormals, where the exp form would cancel: within a float ulp, and in double
        // within 1e-11 relative
        for (int i = 0; i < 100_000; i++) {
            double x = (r.nextDouble() - 0.5) * Math.pow(10, -r.nextInt(12)) * (i % 3 == 0 ? 1e-300 : 1);
            double want = Math.tanh(x), got = K.tanh(x);
            assertTrue(Math.abs((float) got - (float) want) <= Math.ulp((float) want), x + ": " + got + " vs " + want);
            assertTrue(Math.abs(got - want) <= 1e-11 * Math.abs(want), x + ": " + got + " vs " + want);
        }
        assertEquals(0.0, K.tanh(0.0));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(K.tanh(-0.0)));
        assertTrue(Double.isNaN(K.tanh(Double.NaN)));
        assertEquals(1.0, K.tanh(1e6));
        assertEquals(-1.0, K.tanh(-1e6));
    }

    @Test
    void everyRegisteredOpHasAKernel() {
        // the op visitor makes a missing kernel a compile error; this checks each one is a real kernel
        for (Op op : memplan.ops.OpRulesTest.examples().keySet())
            assertTrue(CpuKernels.hasKernel(op) || op.isView(), op.type());
    }

    // ---------------------------------------------------------------- ops of the ONNX importer

    private static ConvTranspose2d convT(int out, int k, int stride, int pad, int outPad, int dil, int groups, boolean bias) {
        return new ConvTranspose2d(out, Pair.of(k), Pair.of(stride), Pair.of(pad), Pair.of(outPad), Pair.of(dil), groups, bias);
    }

    @Test
    void convTransposeStridePaddingOutputPadding() {
        // x = [[1, 2], [3, 4]], 3x3 kernel of ones, stride 2, padding 1, output padding 1 -> 4x4:
        // each x[i][j] is added to rows/cols 2i-1..2i+1 / 2j-1..2j+1 of the output
        CpuHarness h = new CpuHarness(convT(1, 3, 2, 1, 1, 1, 1, false), s(1, 1, 2, 2));
        set(h.in[0], 1, 2, 3, 4);
        h.params[0].fill(1f);
        h.forward();
        assertArrayEquals(new float[]{1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4}, h.out[0].toArray());
        // 2x2 kernel, stride 2, no padding, output padding 1: 2x2 blocks, then a last row and column of bias only
        CpuHarness b = new CpuHarness(convT(1, 2, 2, 0, 1, 1, 1, true), s(1, 1, 2, 2));
        set(b.in[0], 1, 2, 3, 4);
        b.params[0].fill(1f);
        b.params[1].fill(0.5f);
        b.forward();
        float[] e = new float[25];
        for (int r = 0; r < 5; r++) for (int c = 0; c < 5; c++) e[r * 5 + c] = 0.5f + (r < 4 && c < 4 ? (r / 2) * 2 + c / 2 + 1 : 0);
        assertArrayEquals(e, b.out[0].toArray());
    }

    @Test
    void convTransposeChannelsAndGroups() {
        // weight [in, out/groups, 1, 1]: y_o = sum_c w[c, o] x_c
        CpuHarness h = new CpuHarness(convT(2, 1, 1, 0, 0, 1, 1, false), s(1, 2, 1, 1));
        set(h.in[0], 10, 100);
        set(h.params[0], 1, 2, 3, 4); // w[0] = (1, 2), w[1] = (3, 4)
        h.forward();
        assertArrayEquals(new float[]{310, 420}, h.out[0].toArray());
        // groups 2: out channels 0,1 from input 0 only, 2,3 from input 1 only
        CpuHarness g = new CpuHarness(convT(4, 1, 1, 0, 0, 1, 2, false), s(1, 2, 1, 1));
        set(g.in[0], 10, 100);
        set(g.params[0], 1, 2, 3, 4);
        g.forward();
        assertArrayEquals(new float[]{10, 20, 300, 400}, g.out[0].toArray());
    }

    /** ConvTranspose2d's forward is Conv2d's input gradient with the same weight and geometry. */
    @Test
    void convTransposeIsTheAdjointOfConv() {
        int[][] cases = {{3, 2, 1, 1, 1}, {3, 1, 1, 0, 1}, {2, 2, 0, 0, 2}, {3, 3, 2, 2, 1}};
        for (int[] c : cases) {
            int k = c[0], st = c[1], p = c[2], op = c[3], d = c[4];
            CpuHarness t = new CpuHarness(convT(3, k, st, p, op, d, 1, false), s(2, 4, 4, 3));
            t.forward();
            Shape ys = t.out[0].shape();
            CpuHarness conv = new CpuHarness(new Conv2d(4, Pair.of(k), Pair.of(st), Pair.of(p), Pair.of(d), 1, false), ys);
            assertEquals(t.in[0].shape(), conv.out[0].shape(), java.util.Arrays.toString(c));
            System.arraycopy(t.params[0].toArray(), 0, conv.params[0].data(), conv.params[0].offset(), t.params[0].numel());
            Buf gx = conv.alloc(ys, DType.FP32);
            Buf gy = conv.alloc(t.in[0].shape(), DType.FP32);
            for (int i = 0; i < gy.numel(); i++) gy.set(i, t.in[0].get(i));
            conv.backward(new Buf[]{gy}, new Buf[]{gx}, new Buf[1], new boolean[1], new boolean[1]);
            float[] a = t.out[0].toArray(), b = gx.toArray();
            for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-5f, java.util.Arrays.toString(c) + " element " + i);
        }
    }

    @Test
    void padModes() {
        float[][] expect = {{0, 0, 1, 2, 3, 0}, {3, 2, 1, 2, 3, 2}, {1, 1, 1, 2, 3, 3}};
        String[] modes = {"constant", "reflect", "edge"};
        for (int m = 0; m < 3; m++) {
            CpuHarness h = new CpuHarness(new Pad(java.util.List.of(0, 2, 0, 1), modes[m]), s(1, 3));
            set(h.in[0], 1, 2, 3);
            h.forward();
            assertArrayEquals(expect[m], h.out[0].toArray(), modes[m]);
        }
        // 2-D reflect: [[1,2],[3,4]] padded by 1 on every side
        CpuHarness r = new CpuHarness(new Pad(java.util.List.of(1, 1, 1, 1), "reflect"), s(2, 2));
        set(r.in[0], 1, 2, 3, 4);
        r.forward();
        assertArrayEquals(new float[]{4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1}, r.out[0].toArray());
        // negative pads crop
        CpuHarness c = new CpuHarness(new Pad(java.util.List.of(0, -1, 0, 1), "constant"), s(1, 3));
        set(c.in[0], 1, 2, 3);
        c.forward();
        assertArrayEquals(new float[]{2, 3, 0}, c.out[0].toArray());
        // edge backward: the border element collects the gradients of its copies
        CpuHarness e = new CpuHarness(new Pad(java.util.List.of(0, 2, 0, 1), "edge"), s(1, 3));
        e.forward();
        Buf gy = e.alloc(e.out[0].shape(), DType.FP32);
        set(gy, 1, 2, 3, 4, 5, 6);
        Buf gx = e.alloc(e.in[0].shape(), DType.FP32);
        e.backward(new Buf[]{gy}, new Buf[]{gx}, new Buf[0], new boolean[1], new boolean[0]);
        assertArrayEquals(new float[]{6, 4, 11}, gx.toArray());
    }

    @Test
    void reduceMeanAxesAndKeepDims() {
        CpuHarness a = new CpuHarness(new ReduceMean(java.util.List.of(1), true), s(2, 3));
        set(a.in[0], 1, 2, 3, 4, 5, 6);
        a.forward();
        assertEquals(s(2, 1), a.node.outShapes().get(0));
        assertArrayEquals(new float[]{2, 5}, a.out[0].toArray());
        CpuHarness b = new CpuHarness(new ReduceMean(java.util.List.of(0), false), s(2, 3));
        set(b.in[0], 1, 2, 3, 4, 5, 6);
        b.forward();
        assertEquals(s(3), b.node.outShapes().get(0));
        assertArrayEquals(new float[]{2.5f, 3.5f, 4.5f}, b.out[0].toArray());
        CpuHarness all = new CpuHarness(new ReduceMean(java.util.List.of(), true), s(2, 3));
        set(all.in[0], 1, 2, 3, 4, 5, 6);
        all.forward();
        assertArrayEquals(new float[]{3.5f}, all.out[0].toArray());
        // axes 0 and 2 of [2, 2, 2]: mean of x[., j, .]
        CpuHarness c = new CpuHarness(new ReduceMean(java.util.List.of(0, -1), false), s(2, 2, 2));
        set(c.in[0], 1, 2, 3, 4, 5, 6, 7, 8);
        c.forward();
        assertArrayEquals(new float[]{(1 + 2 + 5 + 6) / 4f, (3 + 4 + 7 + 8) / 4f}, c.out[0].toArray());
        Buf gy = c.alloc(c.out[0].shape(), DType.FP32);
        set(gy, 4, 8);
        Buf gx = c.alloc(c.in[0].shape(), DType.FP32);
        c.backward(new Buf[]{gy}, new Buf[]{gx}, new Buf[0], new boolean[1], new boolean[0]);
        assertArrayEquals(new float[]{1, 1, 2, 2, 1, 1, 2, 2}, gx.toArray());
    }

    @Test
    void splitPartsAndAMissingGradient() {
        CpuHarness h = new CpuHarness(new Split(1, java.util.List.of(2, 3)), s(2, 5));
        for (int i = 0; i < 10; i++) h.in[0].set(i, i);
        h.forward();
        assertArrayEquals(new float[]{0, 1, 5, 6}, h.out[0].toArray());
        assertArrayEquals(new float[]{2, 3, 4, 7, 8, 9}, h.out[1].toArray());
        Buf g1 = h.alloc(h.out[1].shape(), DType.FP32);
        g1.fill(1f);
        Buf gx = h.alloc(h.in[0].shape(), DType.FP32);
        gx.fill(Float.NaN);
        h.backward(new Buf[]{null, g1}, new Buf[]{gx}, new Buf[0], new boolean[1], new boolean[0]);
        assertArrayEquals(new float[]{0, 0, 1, 1, 1, 0, 0, 1, 1, 1}, gx.toArray());
    }

    @Test
    void broadcastingBinaryOps() {
        CpuHarness sub = new CpuHarness(new Sub(), s(2, 3), s(3));
        set(sub.in[0], 10, 20, 30, 40, 50, 60);
        set(sub.in[1], 1, 2, 3);
        sub.forward();
        assertArrayEquals(new float[]{9, 18, 27, 39, 48, 57}, sub.out[0].toArray());
        CpuHarness div = new CpuHarness(new Div(), s(2, 1), s(1, 3));
        set(div.in[0], 6, 12);
        set(div.in[1], 1, 2, 3);
        div.forward();
        assertArrayEquals(new float[]{6, 3, 2, 12, 6, 4}, div.out[0].toArray());
        CpuHarness pow = new CpuHarness(new Pow(), s(2, 1), s(3));
        set(pow.in[0], 2, 3);
        set(pow.in[1], 0, 1, 2);
        pow.forward();
        assertArrayEquals(new float[]{1, 2, 4, 1, 3, 9}, pow.out[0].toArray());
        CpuHarness add = new CpuHarness(new Add(), s(2, 3), s(2, 1));
        set(add.in[0], 1, 2, 3, 4, 5, 6);
        set(add.in[1], 10, 20);
        add.forward();
        assertArrayEquals(new float[]{11, 12, 13, 24, 25, 26}, add.out[0].toArray());
        CpuHarness mul = new CpuHarness(new Mul(), s(2, 1, 2), s(3, 1));
        set(mul.in[0], 1, 2, 3, 4);
        set(mul.in[1], 1, 10, 100);
        mul.forward();
        assertArrayEquals(new float[]{1, 2, 10, 20, 100, 200, 3, 4, 30, 40, 300, 400}, mul.out[0].toArray());
    }

    @Test
    void broadcastGradientsAreSummedOverBroadcastAxes() {
        // Sub a[2,3] - b[3]: gb = -(column sums of g)
        CpuHarness sub = new CpuHarness(new Sub(), s(2, 3), s(3));
        sub.forward();
        Buf gy = sub.alloc(s(2, 3), DType.FP32);
        set(gy, 1, 2, 3, 4, 5, 6);
        Buf ga = sub.alloc(s(2, 3), DType.FP32), gb = sub.alloc(s(3), DType.FP32);
        sub.backward(new Buf[]{gy}, new Buf[]{ga, gb}, new Buf[0], new boolean[2], new boolean[2]);
        assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, ga.toArray());
        assertArrayEquals(new float[]{-5, -7, -9}, gb.toArray());
        // BroadcastMul a[2,1,2] * b[3,1], g = 1: ga = sum of b over its 3 rows, gb = sum of all a
        CpuHarness mul = new CpuHarness(new Mul(), s(2, 1, 2), s(3, 1));
        set(mul.in[0], 1, 2, 3, 4);
        set(mul.in[1], 1, 10, 100);
        mul.forward();
        Buf g1 = mul.alloc(s(2, 3, 2), DType.FP32);
        g1.fill(1f);
        Buf gma = mul.alloc(s(2, 1, 2), DType.FP32), gmb = mul.alloc(s(3, 1), DType.FP32);
        gma.fill(1f);
        mul.backward(new Buf[]{g1}, new Buf[]{gma, gmb}, new Buf[0], new boolean[]{true, false}, new boolean[2]);
        assertArrayEquals(new float[]{112, 112, 112, 112}, gma.toArray()); // accumulated onto 1
        assertArrayEquals(new float[]{10, 10, 10}, gmb.toArray());
        // BroadcastAdd with the same-shape gradient aliasing gradOut: the other operand still sees the original
        CpuHarness add = new CpuHarness(new Add(), s(2, 3), s(3));
        add.forward();
        Buf g = add.alloc(s(2, 3), DType.FP32);
        set(g, 1, 2, 3, 4, 5, 6);
        Buf gAddB = add.alloc(s(3), DType.FP32);
        add.backward(new Buf[]{g}, new Buf[]{g, gAddB}, new Buf[0], new boolean[2], new boolean[2]);
        assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, g.toArray());
        assertArrayEquals(new float[]{5, 7, 9}, gAddB.toArray());
    }

    @Test
    void maskedFillInputAndBufferMasks() {
        CpuHarness h = new CpuHarness(new MaskedFill(java.util.List.of(), -9, true), s(2, 3), s(3));
        set(h.in[0], 1, 2, 3, 4, 5, 6);
        h.in[1].setLong(0, 1);
        h.in[1].setLong(1, 0);
        h.in[1].setLong(2, 7);
        h.forward();
        assertArrayEquals(new float[]{1, -9, 3, 4, -9, 6}, h.out[0].toArray());
        Buf gy = h.alloc(s(2, 3), DType.FP32);
        gy.fill(2f);
        Buf gx = h.alloc(s(2, 3), DType.FP32);
        h.backward(new Buf[]{gy}, new Buf[]{gx, null}, new Buf[0], new boolean[2], new boolean[0]);
        assertArrayEquals(new float[]{2, 0, 2, 2, 0, 2}, gx.toArray());
        // a bool mask, filled where true
        CpuHarness b = new CpuHarness(new MaskedFill(java.util.List.of(), 0.5, false), new DType[]{null, DType.BOOL}, s(4), s(4));
        set(b.in[0], 1, 2, 3, 4);
        b.in[1].setByte(1, 1);
        b.in[1].setByte(3, 1);
        b.forward();
        assertArrayEquals(new float[]{1, 0.5f, 3, 0.5f}, b.out[0].toArray());
        // a fixed causal mask (a buffer), the largest negative float as exported for -inf
        CpuHarness c = new CpuHarness(new MaskedFill(java.util.List.of(2, 2), -Float.MAX_VALUE, true), s(1, 2, 2));
        set(c.in[0], 1, 2, 3, 4);
        set(c.params[0], 1, 0, 1, 1);
        c.forward();
        assertArrayEquals(new float[]{1, -Float.MAX_VALUE, 3, 4}, c.out[0].toArray());
    }

    @Test
    void compareRelationsBroadcastAndScalars() {
        // Less of [2, 3] fp32 against [3] int64: broadcast over rows, values compared as numbers
        CpuHarness lt = new CpuHarness(new Compare(Compare.Relation.LESS, null), new DType[]{DType.FP32, DType.INT64},
                s(2, 3), s(3));
        set(lt.in[0], 1, 2, 3, -1, 5, 0.5f);
        lt.in[1].setLong(0, 2);
        lt.in[1].setLong(1, 2);
        lt.in[1].setLong(2, 1);
        lt.forward();
        assertEquals(DType.BOOL, lt.out[0].dtype());
        int[] want = {1, 0, 0, 1, 0, 1};
        for (int i = 0; i < 6; i++) assertEquals(want[i], lt.out[0].getByte(i), "less " + i);
        // Equal against a scalar on int64 (the Mod(x, 2) == 0 of a shifted-window mask)
        CpuHarness eq = new CpuHarness(new Compare(Compare.Relation.EQUAL, 0.0), new DType[]{DType.INT64}, s(5));
        for (int i = 0; i < 5; i++) eq.in[0].setLong(i, i % 2);
        eq.forward();
        for (int i = 0; i < 5; i++) assertEquals(i % 2 == 0 ? 1 : 0, eq.out[0].getByte(i), "equal " + i);
        // Not, And, Or, Xor of bool tensors
        CpuHarness not = new CpuHarness(new Compare(Compare.Relation.NOT, null), new DType[]{DType.BOOL}, s(6));
        for (int i = 0; i < 6; i++) not.in[0].setByte(i, i % 3 == 0 ? 1 : 0);
        not.forward();
        for (int i = 0; i < 6; i++) assertEquals(i % 3 == 0 ? 0 : 1, not.out[0].getByte(i), "not " + i);
        int[][] truth = {{1, 0, 0, 0}, {1, 1, 1, 0}, {0, 1, 1, 0}}; // and, or, xor of (1,1), (1,0), (0,1), (0,0)
        Compare.Relation[] rs = {Compare.Relation.AND, Compare.Relation.OR, Compare.Relation.XOR};
        for (int k = 0; k < 3; k++) {
            CpuHarness h = new CpuHarness(new Compare(rs[k], null), new DType[]{DType.BOOL, DType.BOOL}, s(4), s(4));
            int[] a = {1, 1, 0, 0}, b = {1, 0, 1, 0};
            for (int i = 0; i < 4; i++) {
                h.in[0].setByte(i, a[i]);
                h.in[1].setByte(i, b[i]);
            }
            h.forward();
            for (int i = 0; i < 4; i++) assertEquals(truth[k][i], h.out[0].getByte(i), rs[k] + " " + i);
        }
        // Greater against a scalar on fp32, more elements than one packed slot per task
        CpuHarness gt = new CpuHarness(new Compare(Compare.Relation.GREATER, 0.25), new DType[]{DType.FP32}, s(4099));
        gt.forward();
        for (int i = 0; i < 4099; i++) assertEquals(gt.in[0].get(i) > 0.25f ? 1 : 0, gt.out[0].getByte(i), "gt " + i);
    }

    @Test
    void castConversions() {
        CpuHarness toF = new CpuHarness(new Cast(null), new DType[]{DType.INT64}, s(3));
        toF.in[0].setLong(0, -2);
        toF.in[0].setLong(1, 0);
        toF.in[0].setLong(2, 1L << 40);
        toF.forward();
        assertArrayEquals(new float[]{-2, 0, (float) (1L << 40)}, toF.out[0].toArray());
        CpuHarness boolToF = new CpuHarness(new Cast(null), new DType[]{DType.BOOL}, s(5));
        boolToF.in[0].setByte(1, 1);
        boolToF.in[0].setByte(4, 1);
        boolToF.forward();
        assertArrayEquals(new float[]{0, 1, 0, 0, 1}, boolToF.out[0].toArray());
        CpuHarness toI = new CpuHarness(new Cast(DType.INT64), new DType[]{DType.FP32}, s(4));
        set(toI.in[0], -1.7f, 2.9f, 0f, 5f);
        toI.forward();
        assertEquals(DType.INT64, toI.out[0].dtype());
        long[] got = new long[4];
        for (int i = 0; i < 4; i++) got[i] = toI.out[0].getLong(i);
        assertArrayEquals(new long[]{-1, 2, 0, 5}, got); // truncation toward zero, as ONNX
        CpuHarness toB = new CpuHarness(new Cast(DType.BOOL), new DType[]{DType.INT64}, s(6));
        for (int i = 0; i < 6; i++) toB.in[0].setLong(i, i % 2 == 0 ? 0 : -3);
        toB.forward();
        for (int i = 0; i < 6; i++) assertEquals(i % 2, toB.out[0].getByte(i));
    }

    @Test
    void pointwiseImporterOps() {
        CpuHarness l = new CpuHarness(new LeakyReLU(0.1), s(3));
        set(l.in[0], -2, 0, 3);
        l.forward();
        assertArrayEquals(new float[]{-0.2f, 0, 3}, l.out[0].toArray(), 1e-7f);
        CpuHarness hs = new CpuHarness(new HardSigmoid(0.2, 0.5), s(3));
        set(hs.in[0], -5, 1, 5);
        hs.forward();
        assertArrayEquals(new float[]{0, 0.7f, 1}, hs.out[0].toArray(), 1e-7f);
        CpuHarness sw = new CpuHarness(new HardSwish(), s(4));
        set(sw.in[0], -4, 1, 3, 5);
        sw.forward();
        assertArrayEquals(new float[]{0, 4f / 6, 3, 5}, sw.out[0].toArray(), 1e-7f);
        CpuHarness q = new CpuHarness(new Sqrt(), s(2));
        set(q.in[0], 4, 2.25f);
        q.forward();
        assertArrayEquals(new float[]{2, 1.5f}, q.out[0].toArray());
        // ReLU6 in place: output aliases input
        CpuHarness c = new CpuHarness(new Clip(0, 6), s(4));
        set(c.in[0], -1, 3, 6, 9);
        c.kernel.forward(new ForwardArgs(c.node, c.in, new Buf[]{c.in[0]}, c.params, c.aux, null, true, false, 1));
        assertArrayEquals(new float[]{0, 3, 6, 6}, c.in[0].toArray());
        CpuHarness ce = new CpuHarness(ConstElementwise.scalar("sub", 1, true), s(2));
        set(ce.in[0], 0.25f, 3);
        ce.forward();
        assertArrayEquals(new float[]{0.75f, -2}, ce.out[0].toArray());
        CpuHarness o = new CpuHarness(new Opaque("onnx:Foo", 2, 2), s(2), s(2));
        set(o.in[0], 7, 8);
        o.forward();
        assertArrayEquals(new float[]{7, 8}, o.out[0].toArray());
        assertArrayEquals(new float[]{7, 8}, o.out[1].toArray());
    }

    @Test
    void cumSumDirectionsAndExclusivity() {
        float[] x = {1, 2, 3, 4, 5, 6}; // [2, 3]
        float[][] want = { // along axis 1: inclusive, exclusive, reverse, reverse exclusive
                {1, 3, 6, 4, 9, 15}, {0, 1, 3, 0, 4, 9}, {6, 5, 3, 15, 11, 6}, {5, 3, 0, 11, 6, 0}};
        for (int m = 0; m < 4; m++) {
            CpuHarness h = new CpuHarness(new CumSum(1, m % 2 == 1, m >= 2), s(2, 3));
            set(h.in[0], x);
            h.forward();
            assertArrayEquals(want[m], h.out[0].toArray(), "mode " + m);
        }
        CpuHarness a0 = new CpuHarness(new CumSum(0, false, false), s(2, 3)); // along the rows
        set(a0.in[0], x);
        a0.forward();
        assertArrayEquals(new float[]{1, 2, 3, 5, 7, 9}, a0.out[0].toArray());
    }

    @Test
    void topKValuesIndicesAndTies() {
        CpuHarness h = new CpuHarness(new TopK(1, 2, true, true), s(2, 4));
        set(h.in[0], 3, 7, 7, 1, -1, -5, 2, 0);
        h.forward();
        assertArrayEquals(new float[]{7, 7, 2, 0}, h.out[0].toArray());
        long[] idx = {1, 2, 2, 3}; // a tie goes to the lower index first
        for (int i = 0; i < 4; i++) assertEquals(idx[i], h.out[1].getLong(i), "index " + i);
        assertEquals(DType.INT64, h.out[1].dtype());
        CpuHarness small = new CpuHarness(new TopK(0, 1, false, true), s(3, 2)); // smallest along axis 0
        set(small.in[0], 4, -2, 1, 5, 3, 0);
        small.forward();
        assertArrayEquals(new float[]{1, -2}, small.out[0].toArray());
        assertEquals(1, small.out[1].getLong(0));
        assertEquals(0, small.out[1].getLong(1));
    }

    @Test
    void modRemainderAndFmod() {
        float[] x = {5.5f, -5.5f, 3, -3};
        CpuHarness rem = new CpuHarness(ConstElementwise.scalar("mod", 2, false), s(4));
        set(rem.in[0], x);
        rem.forward();
        assertArrayEquals(new float[]{1.5f, 0.5f, 1, 1}, rem.out[0].toArray(), "the divisor's sign");
        CpuHarness fm = new CpuHarness(ConstElementwise.scalar("fmod", 2, false), s(4));
        set(fm.in[0], x);
        fm.forward();
        assertArrayEquals(new float[]{1.5f, -1.5f, 1, -1}, fm.out[0].toArray(), "the dividend's sign");
        CpuHarness neg = new CpuHarness(ConstElementwise.scalar("mod", -2, false), s(4));
        set(neg.in[0], x);
        neg.forward();
        assertArrayEquals(new float[]{-0.5f, -1.5f, -1, -1}, neg.out[0].toArray());
    }

    @Test
    void compareAgainstAConstantBuffer() {
        CpuHarness h = new CpuHarness(new Compare(Compare.Relation.LESS, null, java.util.List.of(1, 3)),
                new DType[]{DType.FP32}, s(2, 3));
        set(h.in[0], 1, 2, 3, -1, 5, 0.5f);
        set(h.params[0], 2, 2, 1);
        h.forward();
        int[] want = {1, 0, 0, 1, 0, 1};
        for (int i = 0; i < 6; i++) assertEquals(want[i], h.out[0].getByte(i), "less " + i);
    }

    @Test
    void scatterNdReplacesOrAddsSlicesInOrder() {
        for (boolean add : new boolean[]{false, true}) {
            CpuHarness h = new CpuHarness(new ScatterND(add), s(3, 2), s(3, 1), s(3, 2));
            set(h.in[0], 1, 2, 3, 4, 5, 6);
            long[] idx = {2, 0, 2}; // row 2 twice: none keeps the last write, add both
            for (int i = 0; i < 3; i++) h.in[1].setLong(i, idx[i]);
            set(h.in[2], 10, 20, 30, 40, 50, 60);
            h.forward();
            float[] want = add ? new float[]{31, 42, 3, 4, 65, 86} : new float[]{30, 40, 3, 4, 50, 60};
            assertArrayEquals(want, h.out[0].toArray(), "add " + add);
        }
        CpuHarness neg = new CpuHarness(new ScatterND(false), s(2, 3), s(1, 2), s(1));
        set(neg.in[0], 0, 0, 0, 0, 0, 0);
        neg.in[1].setLong(0, -1); // the last row
        neg.in[1].setLong(1, 1);
        set(neg.in[2], 9);
        neg.forward();
        assertArrayEquals(new float[]{0, 0, 0, 0, 9, 0}, neg.out[0].toArray());
    }
}

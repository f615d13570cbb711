package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
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
        assertEquals(1.0, K.tanh(1e6));
        assertEquals(-1.0, K.tanh(-1e6));
    }

    /**
     * Ops added for the ONNX importer (issue 6, docs/onnx.md) whose CPU kernels are not written yet: profile and plan
     * work on them, `run` does not. Remove names from here as their kernels land.
     */
    static final java.util.Set<String> IMPORTER_OPS_WITHOUT_KERNELS = java.util.Set.of("ConvTranspose2d", "LeakyReLU", "HardSigmoid",
            "HardSwish", "Sqrt", "Clip", "Cast", "BroadcastAdd", "BroadcastMul", "Sub", "Div", "Pow", "ConstElementwise",
            "ReduceMean", "Split", "Pad", "Opaque", "MaskedFill");

    @Test
    void everyRegisteredOpHasAKernel() {
        for (String name : OpRegistry.names()) {
            if (name.equals("Input")) continue;
            if (IMPORTER_OPS_WITHOUT_KERNELS.contains(name)) continue;
            assertTrue(CpuKernels.hasKernel(name) || name.equals("Reshape") || name.equals("Flatten"), name);
        }
    }
}

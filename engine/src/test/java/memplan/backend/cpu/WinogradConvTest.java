package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Conv2d;
import memplan.ops.Pair;
import org.junit.jupiter.api.Test;

import java.util.concurrent.ForkJoinPool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Winograd F(4x4, 3x3) convolution against a direct convolution summed in double: forward, data gradient and
 * weight gradient (with and without accumulation), for every padding it takes, edges that cut tiles, several
 * groups of images, and thread counts.
 */
class WinogradConvTest {
    private static Shape s(int... d) {
        return Shape.of(d);
    }

    @Test
    void takesOnlyThreeByThreeStrideOneWithEnoughChannels() {
        Shape in = s(4, 16, 8, 8);
        assertTrue(WinogradConv.allows(Conv2d.of(16, 3, 1, 1, true), in, s(4, 16, 8, 8)));
        assertEquals(OpenBlasGemm.available(), WinogradConv.runs(Conv2d.of(16, 3, 1, 1, true), in, s(4, 16, 8, 8)));
        assertFalse(WinogradConv.allows(Conv2d.of(16, 3, 2, 1, true), in, s(4, 16, 4, 4)), "stride 2");
        assertFalse(WinogradConv.allows(Conv2d.of(16, 5, 1, 2, true), in, s(4, 16, 8, 8)), "5x5");
        assertFalse(WinogradConv.allows(Conv2d.of(8, 3, 1, 1, true), in, s(4, 8, 8, 8)), "8 output channels");
        assertFalse(WinogradConv.allows(Conv2d.of(16, 3, 1, 3, true), in, s(4, 16, 12, 12)), "padding 3");
        assertFalse(WinogradConv.allows(new Conv2d(16, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(2), 1, false), in,
                s(4, 16, 6, 6)), "dilation 2");
        assertFalse(WinogradConv.allows(new Conv2d(16, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 2, false), in,
                s(4, 16, 8, 8)), "two groups");
        // ResNet-18's 7x7 layer at batch 8: 32 tiles of 1024 channels against twice 512 x 512 transformed weights
        assertFalse(WinogradConv.allows(Conv2d.of(512, 3, 1, 1, false), s(8, 512, 7, 7), s(8, 512, 7, 7)), "7x7");
        assertTrue(WinogradConv.allows(Conv2d.of(512, 3, 1, 1, false), s(128, 512, 7, 7), s(128, 512, 7, 7)), "128");
    }

    @Test
    void matchesDirectConvolutionForEveryPadding() {
        for (int pad = 0; pad <= 2; pad++) {
            compare(Conv2d.of(20, 3, 1, pad, true), s(2, 16, 13, 11), false);
            compare(Conv2d.of(16, 3, 1, pad, false), s(4, 24, 10, 13), true);
        }
        // tiles cut by both edges, a single row of tiles, and more channels out than in
        compare(Conv2d.of(32, 3, 1, 1, true), s(6, 16, 3, 13), false);
        compare(Conv2d.of(48, 3, 1, 1, false), s(2, 17, 14, 14), true);
    }

    @Test
    void finiteDifferencesAgree() {
        CpuHarness h = new CpuHarness(Conv2d.of(16, 3, 1, 1, true), s(4, 16, 6, 7));
        assertTrue(WinogradConv.allows((Conv2d) h.node.op(), h.node.inShapes().get(0), h.node.outShapes().get(0)));
        h.gradCheck(40);
    }

    /** Groups of images (the staging bound made small): the weight gradient summed over groups in order. */
    @Test
    void groupsOfImagesMatchAndRepeatBitwiseAcrossThreadCounts() throws Exception {
        long saved = GemmKernels.ConvK.stageFloats;
        try {
            Conv2d op = Conv2d.of(16, 3, 1, 1, true);
            Shape in = s(5, 16, 8, 8);
            WinogradConv.Geo g = WinogradConv.Geo.of(in, s(5, 16, 8, 8), op);
            GemmKernels.ConvK.stageFloats = g.perImage(); // two work regions in four times the bound: 2 images
            assertEquals(2, WinogradConv.Geo.of(in, s(5, 16, 8, 8), op).perGroup(), "5 images as 2 + 2 + 1");
            compare(op, in, true);
            int[] one = inPool(1, op, in), two = inPool(2, op, in), three = inPool(3, op, in);
            assertArrayEquals(one, two, "1 and 2 threads");
            assertArrayEquals(one, three, "1 and 3 threads");
        } finally {
            GemmKernels.ConvK.stageFloats = saved;
        }
    }

    private static int[] inPool(int threads, Conv2d op, Shape in) throws Exception {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            return pool.submit(() -> results(op, in)).get();
        } finally {
            pool.shutdown();
        }
    }

    /** The output, input gradient and weight gradient's bits after one forward and backward. */
    private static int[] results(Conv2d op, Shape in) {
        CpuHarness h = new CpuHarness(op, in);
        h.forward();
        Buf[] grads = backwardKeepingStart(h, false);
        float[] y = h.out[0].toArray(), gx = grads[0].toArray(), gw = grads[1].toArray();
        int[] bits = new int[y.length + gx.length + gw.length];
        int k = 0;
        for (float[] a : new float[][] {y, gx, gw}) for (float v : a) bits[k++] = Float.floatToRawIntBits(v);
        return bits;
    }

    private static void compare(Conv2d op, Shape in, boolean acc) {
        CpuHarness h = new CpuHarness(op, in);
        Shape out = h.node.outShapes().get(0);
        String what = op + " on " + in + (acc ? " accumulating" : "");
        assertTrue(WinogradConv.allows(op, in, out), what);
        h.forward();
        int n = in.dim(0), c = in.dim(1), ht = in.dim(2), wd = in.dim(3), o = out.dim(1), oh = out.dim(2);
        int ow = out.dim(3), p = op.padding().h();
        float[] x = h.in[0].toArray(), w = h.params[0].toArray();
        float[] b = op.bias() ? h.params[1].toArray() : null;
        double[] y = new double[(int) out.numel()];
        for (int i = 0; i < n; i++)
            for (int oc = 0; oc < o; oc++)
                for (int r = 0; r < oh; r++)
                    for (int q = 0; q < ow; q++) {
                        double sum = b == null ? 0 : b[oc];
                        for (int ic = 0; ic < c; ic++)
                            for (int u = 0; u < 3; u++)
                                for (int v = 0; v < 3; v++) {
                                    int yy = r + u - p, xx = q + v - p;
                                    if (yy < 0 || yy >= ht || xx < 0 || xx >= wd) continue;
                                    sum += (double) x[((i * c + ic) * ht + yy) * wd + xx]
                                            * w[((oc * c + ic) * 3 + u) * 3 + v];
                                }
                        y[((i * o + oc) * oh + r) * ow + q] = sum;
                    }
        assertNear(y, h.out[0].toArray(), what + ": output");
        // the gradients' start values (added to when accumulating) are drawn inside backward: keep copies
        Buf[] grads = backwardKeepingStart(h, acc);
        float[] gy = grads[2].toArray(), gx0 = grads[3].toArray(), gw0 = grads[4].toArray();
        double[] gx = new double[(int) in.numel()], gw = new double[w.length];
        for (int k = 0; k < gx.length && acc; k++) gx[k] = gx0[k];
        for (int k = 0; k < gw.length && acc; k++) gw[k] = gw0[k];
        for (int i = 0; i < n; i++)
            for (int oc = 0; oc < o; oc++)
                for (int r = 0; r < oh; r++)
                    for (int q = 0; q < ow; q++) {
                        double g = gy[((i * o + oc) * oh + r) * ow + q];
                        for (int ic = 0; ic < c; ic++)
                            for (int u = 0; u < 3; u++)
                                for (int v = 0; v < 3; v++) {
                                    int yy = r + u - p, xx = q + v - p;
                                    if (yy < 0 || yy >= ht || xx < 0 || xx >= wd) continue;
                                    int xi = ((i * c + ic) * ht + yy) * wd + xx, wi = ((oc * c + ic) * 3 + u) * 3 + v;
                                    gx[xi] += g * w[wi];
                                    gw[wi] += g * x[xi];
                                }
                    }
        assertNear(gx, grads[0].toArray(), what + ": input gradient");
        assertNear(gw, grads[1].toArray(), what + ": weight gradient");
    }

    /** gy, gx and gw random; returns {gx, gw, gy} after backward (added to when acc), then gx and gw as they were. */
    private static Buf[] backwardKeepingStart(CpuHarness h, boolean acc) {
        Buf gy = h.alloc(h.out[0].shape(), DType.FP32);
        h.randomize(gy, 1f);
        Buf gx = h.alloc(h.in[0].shape(), DType.FP32), gw = h.alloc(h.params[0].shape(), DType.FP32);
        h.randomize(gx, 1f);
        h.randomize(gw, 1f);
        Buf gx0 = h.alloc(gx.shape(), DType.FP32), gw0 = h.alloc(gw.shape(), DType.FP32);
        for (int i = 0; i < gx.numel(); i++) gx0.set(i, gx.get(i));
        for (int i = 0; i < gw.numel(); i++) gw0.set(i, gw.get(i));
        Buf[] gp = new Buf[h.params.length];
        gp[0] = gw;
        if (gp.length > 1) gp[1] = h.alloc(h.params[1].shape(), DType.FP32);
        boolean[] accP = new boolean[gp.length];
        accP[0] = acc;
        h.backward(new Buf[] {gy}, new Buf[] {gx}, gp, new boolean[] {acc}, accP);
        return new Buf[] {gx, gw, gy, gx0, gw0};
    }

    /** Within 1e-4 of the largest magnitude (F(4x4, 3x3) in float rounds more than a direct sum). */
    private static void assertNear(double[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double scale = 0;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        double worst = 0;
        for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        assertTrue(worst <= 1e-4 * scale, what + ": largest error " + worst + " against a scale of " + scale);
    }
}

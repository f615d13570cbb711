package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Mish;
import memplan.ops.Mul;
import memplan.ops.*;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Backward of every op against central finite differences (see {@link CpuHarness} for eps and tolerance), with
 * only the tensors each op declares in backwardNeeds() passed to backward, and accumulate=true checked to add.
 */
class CpuGradientTest {
    static final int MAX = 24; // elements checked per tensor

    private static Shape s(int... d) {
        return Shape.of(d);
    }

    /** Moves values away from zero so that ReLU's kink is not within eps. */
    private static void awayFromZero(Buf b) {
        for (int i = 0; i < b.numel(); i++) {
            float v = b.get(i);
            b.set(i, v + Math.copySign(0.1f, v));
        }
    }

    @Test
    void conv2dBasic() {
        new CpuHarness(Conv2d.of(4, 3, 1, 1, true), s(2, 3, 5, 5)).gradCheck(MAX);
    }

    @Test
    void conv2dStrideDilationGroupsNonSquare() {
        Conv2d op = new Conv2d(4, new Pair(2, 3), new Pair(2, 1), new Pair(1, 2), new Pair(2, 1), 2, false);
        new CpuHarness(op, s(2, 4, 7, 6)).gradCheck(MAX);
    }

    /** The OpenBLAS path in groups of images (3 as 2 + 1; the staging bound made small), accumulation included. */
    @Test
    void conv2dInGroupsOfImages() {
        long saved = GemmKernels.ConvK.stageFloats;
        try {
            GemmKernels.ConvK.stageFloats = 2 * (36 + 8) * 144;
            new CpuHarness(Conv2d.of(8, 3, 1, 1, true), s(3, 4, 12, 12)).gradCheck(MAX);
            GemmKernels.ConvK.stageFloats = 2 * (16 + 16) * 64;
            new CpuHarness(Conv2d.of(16, 1, 1, 0, true), s(3, 16, 8, 8)).gradCheck(MAX);
        } finally {
            GemmKernels.ConvK.stageFloats = saved;
        }
    }

    @Test
    void conv2dPointwiseGrouped() {
        Conv2d op = new Conv2d(6, Pair.of(1), Pair.of(1), Pair.of(0), Pair.of(1), 3, true);
        new CpuHarness(op, s(3, 3, 4, 4)).gradCheck(MAX);
    }

    @Test
    void conv2dSingleImageUsesWorkspace() {
        Conv2d op = new Conv2d(2, Pair.of(3), Pair.of(2), Pair.of(1), Pair.of(1), 1, true);
        new CpuHarness(op, s(1, 2, 6, 6)).gradCheck(MAX);
    }

    @Test
    void linear() {
        new CpuHarness(new Linear(5, true), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(new Linear(3, false), s(4, 6)).gradCheck(MAX);
    }

    @Test
    void linearLargerThanOneTile() {
        new CpuHarness(new Linear(70, true), s(66, 9)).gradCheck(MAX);
    }

    @Test
    void matMul() {
        new CpuHarness(new MatMul(false), s(2, 3, 4), s(2, 4, 5)).gradCheck(MAX);
        new CpuHarness(new MatMul(true), s(3, 4), s(5, 4)).gradCheck(MAX);
        new CpuHarness(new MatMul(true), s(2, 2, 3, 4), s(2, 2, 6, 4)).gradCheck(MAX);
    }

    @Test
    void batchNorm() {
        new CpuHarness(new BatchNorm2d(1e-5, 0.1), s(3, 2, 3, 3)).gradCheck(MAX);
    }

    @Test
    void layerNorm() {
        new CpuHarness(new LayerNorm(1e-5), s(2, 3, 6)).gradCheck(MAX);
    }

    @Test
    void relu() {
        CpuHarness h = new CpuHarness(new ReLU(), s(2, 3, 4));
        awayFromZero(h.in[0]);
        h.gradCheck(MAX);
    }

    @Test
    void smoothPointwise() {
        new CpuHarness(new GELU(), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(new Sigmoid(), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(new Tanh(), s(2, 3, 4)).gradCheck(MAX);
    }

    @Test
    void maxPoolOverlappingWindows() {
        CpuHarness h = new CpuHarness(new MaxPool2d(Pair.of(3), Pair.of(2), Pair.of(1)), s(2, 2, 5, 5));
        distinct(h.in[0], h.rnd);
        h.gradCheck(MAX);
    }

    /** A random permutation of values 0.1 apart, so no two window elements are within eps of each other. */
    static void distinct(Buf b, Random r) {
        int n = b.numel();
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        for (int i = 0; i < n; i++) b.set(i, (p[i] - n / 2) * 0.1f);
    }

    @Test
    void avgPoolWithPadding() {
        new CpuHarness(new AvgPool2d(Pair.of(3), Pair.of(2), Pair.of(1)), s(2, 2, 5, 5)).gradCheck(MAX);
        new CpuHarness(new AvgPool2d(new Pair(2, 1), new Pair(2, 1), Pair.of(0)), s(1, 2, 4, 3)).gradCheck(MAX);
    }

    @Test
    void globalAvgPoolAndUpsample() {
        new CpuHarness(new GlobalAvgPool(), s(2, 3, 3, 4)).gradCheck(MAX);
        new CpuHarness(new Upsample(2), s(2, 2, 2, 3)).gradCheck(MAX);
        new CpuHarness(new Upsample(3), s(1, 1, 2, 2)).gradCheck(MAX);
    }

    @Test
    void addMul() {
        new CpuHarness(new Add(), s(2, 3, 4), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(new Mul(), s(2, 3, 4), s(2, 3, 4)).gradCheck(MAX);
    }

    @Test
    void concatSliceTranspose() {
        new CpuHarness(new Concat(1), s(2, 1, 3), s(2, 2, 3), s(2, 3, 3)).gradCheck(MAX);
        new CpuHarness(new Concat(-1), s(2, 3, 2), s(2, 3, 1)).gradCheck(MAX);
        new CpuHarness(new Slice(1, 1, 3), s(2, 4, 3)).gradCheck(MAX);
        new CpuHarness(new Slice(-1, 0, 1), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(new Transpose(List.of(0, 2, 1, 3)), s(2, 3, 4, 2)).gradCheck(MAX);
        new CpuHarness(new Transpose(List.of(2, 0, 1)), s(2, 3, 4)).gradCheck(MAX);
    }

    @Test
    void dropout() {
        CpuHarness h = new CpuHarness(new Dropout(0.3), s(4, 50));
        h.gradCheck(MAX);
        int kept = 0;
        for (int i = 0; i < 200; i++) kept += h.aux[0].getByte(i);
        assertNotEquals(0, kept);
        assertNotEquals(200, kept);
    }

    @Test
    void embedding() {
        CpuHarness h = new CpuHarness(new Embedding(5, 4), s(2, 3));
        int[] idx = {1, 4, 1, 0, 3, 1};
        for (int i = 0; i < idx.length; i++) h.in[0].setLong(i, idx[i]);
        h.gradCheck(MAX);
        h.forward();
        for (int i = 0; i < 6; i++) for (int j = 0; j < 4; j++) assertEquals(h.params[0].get(idx[i] * 4 + j), h.out[0].get(i * 4 + j));
    }

    @Test
    void softmax() {
        new CpuHarness(new Softmax(), s(2, 3, 5)).gradCheck(MAX);
    }

    @Test
    void attention() {
        new CpuHarness(new Attention(2, false), s(2, 3, 4), s(2, 5, 4), s(2, 5, 4)).gradCheck(MAX);
        new CpuHarness(new Attention(2, true), s(2, 4, 6), s(2, 4, 6), s(2, 4, 6)).gradCheck(MAX);
        new CpuHarness(new Attention(1, true), s(1, 3, 2), s(1, 3, 2), s(1, 3, 2)).gradCheck(MAX);
    }

    @Test
    void groupedQueryAttentionInBothForms() {
        for (Attention.Form f : Attention.Form.values()) {
            // 4 query heads of 3 over 2 key/value heads (GQA), 1 (MQA), 4 (MHA); cross and causal
            new CpuHarness(new Attention(4, 2, false, f), s(2, 3, 12), s(2, 5, 6), s(2, 5, 6)).gradCheck(MAX);
            new CpuHarness(new Attention(4, 1, true, f), s(2, 4, 8), s(2, 4, 2), s(2, 4, 2)).gradCheck(MAX);
            new CpuHarness(new Attention(2, 2, true, f), s(2, 4, 6), s(2, 4, 6), s(2, 4, 6)).gradCheck(MAX);
        }
    }

    /** The eager and fused forms compute the same attention; only what they keep for backward differs. */
    @Test
    void eagerAndFusedAttentionAgree() {
        Shape q = s(2, 5, 12), kv = s(2, 5, 6);
        CpuHarness fused = new CpuHarness(new Attention(4, 2, true, Attention.Form.FUSED), q, kv, kv);
        CpuHarness eager = new CpuHarness(new Attention(4, 2, true, Attention.Form.EAGER), q, kv, kv);
        for (int i = 0; i < 3; i++)   // the same seed draws the same inputs
            for (int j = 0; j < fused.in[i].numel(); j++) assertEquals(fused.in[i].get(j), eager.in[i].get(j));
        fused.forward();
        eager.forward();
        for (int j = 0; j < fused.out[0].numel(); j++)
            assertEquals(fused.out[0].get(j), eager.out[0].get(j), 1e-6f, "output " + j);
    }

    @Test
    void rmsNorm() {
        new CpuHarness(new RMSNorm(1e-6), s(2, 3, 5)).gradCheck(MAX);
        new CpuHarness(new RMSNorm(1e-5), s(4, 16)).gradCheck(MAX);
    }

    /**
     * A frozen operand keeps less (TrainingGraph.savedFor, savedAux): RMSNorm with a frozen weight gets no
     * normalised x and makes the same input gradient, bit for bit; with a frozen input it gets only the normalised
     * x and makes the same weight gradient.
     */
    @Test
    void rmsNormWithAFrozenSideNeedsLess() {
        CpuHarness h = new CpuHarness(new RMSNorm(1e-6), s(2, 3, 8));
        h.forward();
        Buf gy = h.alloc(h.out[0].shape(), DType.FP32);
        h.randomize(gy, 1f);
        Buf gxAll = h.alloc(h.in[0].shape(), DType.FP32), gwAll = h.alloc(h.params[0].shape(), DType.FP32);
        backward(h, h.in, h.params, h.aux, gy, new Buf[]{gxAll}, new Buf[]{gwAll});
        Buf gx = h.alloc(h.in[0].shape(), DType.FP32);
        backward(h, h.in, h.params, new Buf[]{h.aux[0], null, null}, gy, new Buf[]{gx}, new Buf[1]);
        assertArrayEquals(gxAll.toArray(), gx.toArray(), "frozen weight: the input's gradient");
        Buf gw = h.alloc(h.params[0].shape(), DType.FP32);
        backward(h, new Buf[1], new Buf[1], new Buf[]{null, h.aux[1], null}, gy, new Buf[1], new Buf[]{gw});
        assertArrayEquals(gwAll.toArray(), gw.toArray(), "frozen input: the weight's gradient");
    }

    /**
     * Eager attention keeps q only for k's gradient, k only for q's and v only for the probabilities' gradient:
     * with one side frozen the others come out the same, bit for bit (grouped: the repeated key and value).
     */
    @Test
    void eagerAttentionWithAFrozenOperandNeedsLess() {
        for (Attention op : List.of(new Attention(4, 2, true, Attention.Form.EAGER),
                new Attention(2, 2, true, Attention.Form.EAGER))) {
            Shape q = s(2, 4, 8), kv = op.grouped() ? s(2, 4, 4) : s(2, 4, 8);
            CpuHarness h = new CpuHarness(op, q, kv, kv);
            h.forward();
            Buf gy = h.alloc(h.out[0].shape(), DType.FP32);
            h.randomize(gy, 1f);
            Buf[] all = grads(h, 0, 1, 2);
            backward(h, h.in, h.params, h.aux, gy, all, new Buf[0]);
            // k frozen: no q; q frozen: no k (nor its repeated copy); only v wanted: no q, k or v. Grouped heads
            // read the repeated key and value (aux 1, 2), never the inputs k and v
            boolean gr = op.grouped();
            Buf[] noK = grads(h, 0, 2);
            backward(h, gr ? new Buf[3] : new Buf[]{null, h.in[1], h.in[2]}, h.params, h.aux, gy, noK, new Buf[0]);
            assertArrayEquals(all[0].toArray(), noK[0].toArray(), op + " k frozen: dQ");
            assertArrayEquals(all[2].toArray(), noK[2].toArray(), op + " k frozen: dV");
            Buf[] noQ = grads(h, 1, 2);
            backward(h, gr ? new Buf[]{h.in[0], null, null} : new Buf[]{h.in[0], null, h.in[2]}, h.params,
                    gr ? new Buf[]{h.aux[0], null, h.aux[2]} : h.aux, gy, noQ, new Buf[0]);
            assertArrayEquals(all[1].toArray(), noQ[1].toArray(), op + " q frozen: dK");
            assertArrayEquals(all[2].toArray(), noQ[2].toArray(), op + " q frozen: dV");
            Buf[] onlyV = grads(h, 2);
            backward(h, new Buf[3], h.params, gr ? new Buf[]{h.aux[0], null, null} : h.aux, gy, onlyV, new Buf[0]);
            assertArrayEquals(all[2].toArray(), onlyV[2].toArray(), op + " only v: dV");
        }
    }

    private static Buf[] grads(CpuHarness h, int... inputs) {
        Buf[] g = new Buf[h.in.length];
        for (int i : inputs) g[i] = h.alloc(h.in[i].shape(), DType.FP32);
        return g;
    }

    private static void backward(CpuHarness h, Buf[] in, Buf[] params, Buf[] aux, Buf gy, Buf[] gradIn,
                                 Buf[] gradParams) {
        h.kernel.backward(new BackwardArgs(h.node, in, new Buf[h.out.length], params, aux, new Buf[]{gy}, gradIn,
                gradParams, new boolean[gradIn.length], new boolean[gradParams.length], h.workspace));
        h.checkSentinels();
    }

    @Test
    void gatedActivations() {
        for (GatedActivation.Gate g : GatedActivation.Gate.values()) {
            CpuHarness h = new CpuHarness(new GatedActivation(g), s(2, 3, 8), s(2, 3, 8));
            h.randomize(h.in[0], 3f);
            h.gradCheck(MAX);
        }
    }

    @Test
    void rotaryEmbedding() {
        new CpuHarness(new RotaryEmbedding(4, 10000), s(2, 5, 8)).gradCheck(MAX);
        new CpuHarness(new RotaryEmbedding(6, 500), s(1, 7, 6)).gradCheck(MAX);
    }

    /** Position 0 is not rotated; at position t the pair (i, i + d/2) turns by t * theta^(-2i/d). */
    @Test
    void rotaryEmbeddingRotatesPairs() {
        RotaryEmbedding op = new RotaryEmbedding(4, 100);
        CpuHarness h = new CpuHarness(op, s(1, 2, 4));
        for (int i = 0; i < 8; i++) h.in[0].set(i, i + 1);
        h.forward();
        for (int i = 0; i < 4; i++) assertEquals(i + 1, h.out[0].get(i), 1e-6);
        double a0 = op.angle(1, 0), a1 = op.angle(1, 1);
        assertEquals(1.0, a0, 1e-12);
        assertEquals(0.1, a1, 1e-12);
        // x = (5, 6 | 7, 8): pairs (5, 7) and (6, 8)
        assertEquals(5 * Math.cos(a0) - 7 * Math.sin(a0), h.out[0].get(4), 1e-5);
        assertEquals(6 * Math.cos(a1) - 8 * Math.sin(a1), h.out[0].get(5), 1e-5);
        assertEquals(7 * Math.cos(a0) + 5 * Math.sin(a0), h.out[0].get(6), 1e-5);
        assertEquals(8 * Math.cos(a1) + 6 * Math.sin(a1), h.out[0].get(7), 1e-5);
    }

    @Test
    void lstmCell() {
        CpuHarness h = new CpuHarness(new LSTMCell(4), s(2, 3), s(2, 4), s(2, 4));
        h.gradCheck(MAX);
        // only one output's gradient given (the other is null = zero)
        CpuHarness h2 = new CpuHarness(new LSTMCell(3), s(2, 2), s(2, 3), s(2, 3));
        h2.forward();
        Buf g = h2.alloc(h2.out[0].shape(), DType.FP32);
        g.fill(1f);
        Buf gx = h2.alloc(h2.in[0].shape(), DType.FP32);
        h2.backward(new Buf[]{g, null}, new Buf[]{gx, null, null}, new Buf[4], new boolean[3], new boolean[4]);
        for (int i = 0; i < gx.numel(); i++) assertEquals(true, Float.isFinite(gx.get(i)));
    }

    private static void targets(CpuHarness h, int classes) {
        for (int i = 0; i < h.in[1].numel(); i++) h.in[1].setLong(i, h.rnd.nextInt(classes));
    }

    @Test
    void crossEntropy() {
        CpuHarness h = new CpuHarness(new CrossEntropy(1), s(3, 5), s(3));
        targets(h, 5);
        h.gradCheck(MAX);
        CpuHarness lm = new CpuHarness(new CrossEntropy(-1), s(2, 4, 3), s(2, 4));
        targets(lm, 3);
        lm.gradCheck(MAX, false); // gradOut null: the loss gradient is implicitly 1
        CpuHarness seg = new CpuHarness(new CrossEntropy(1), s(2, 3, 2, 2), s(2, 2, 2));
        targets(seg, 3);
        seg.gradCheck(MAX);
    }

    @Test
    void mseLoss() {
        new CpuHarness(new MseLoss(), s(3, 4), s(3, 4)).gradCheck(MAX);
        new CpuHarness(new MseLoss(), s(5), s(5)).gradCheck(MAX, false);
    }

    @Test
    void batchNormUpdatesRunningStatsOnceAndNotOnRecompute() {
        CpuHarness h = new CpuHarness(new BatchNorm2d(1e-5, 0.1), s(2, 2, 2, 2));
        float[] x = h.in[0].toArray();
        h.params[2].fill(0f);
        h.forward(true, false);
        float[] rm = h.params[2].toArray(), rv = h.params[3].toArray(), y = h.out[0].toArray();
        // channel 0 by hand
        double sum = 0, sq = 0;
        for (int n = 0; n < 2; n++) for (int p = 0; p < 4; p++) sum += x[n * 8 + p];
        double m = sum / 8;
        for (int n = 0; n < 2; n++) for (int p = 0; p < 4; p++) sq += (x[n * 8 + p] - m) * (x[n * 8 + p] - m);
        assertEquals(0.1 * m, rm[0], 1e-6);
        assertEquals(0.9 + 0.1 * sq / 7, rv[0], 1e-6);
        h.forward(true, true);
        assertArrayEquals(rm, h.params[2].toArray());
        assertArrayEquals(rv, h.params[3].toArray());
        assertArrayEquals(y, h.out[0].toArray());
    }

    @Test
    void gradientOnlyForRequestedInputs() {
        CpuHarness h = new CpuHarness(new MatMul(false), s(3, 4), s(4, 2));
        h.forward();
        Buf gy = h.alloc(h.out[0].shape(), DType.FP32);
        gy.fill(1f);
        Buf gb = h.alloc(h.in[1].shape(), DType.FP32);
        // gradIn[0] null: input 1's value is then not needed and may be absent
        h.kernel.backward(new BackwardArgs(h.node, new Buf[]{h.in[0], null}, new Buf[1], new Buf[0], new Buf[0],
                new Buf[]{gy}, new Buf[]{null, gb}, new Buf[0], new boolean[2], new boolean[0], null));
        for (int k = 0; k < 4; k++) {
            float expect = h.in[0].get(k) + h.in[0].get(4 + k) + h.in[0].get(8 + k);
            assertEquals(expect, gb.get(k * 2), 1e-5f);
        }
    }

    // ---------------------------------------------------------------- ops of the ONNX importer

    /** Moves values at least 0.05 away from each kink, so no kink lies within eps of a checked value. */
    private static void awayFrom(Buf b, double... kinks) {
        for (int i = 0; i < b.numel(); i++) {
            float v = b.get(i);
            for (double k : kinks) if (Math.abs(v - k) < 0.05) v = (float) (k + Math.copySign(0.05, v - k));
            b.set(i, v);
        }
    }

    /** Values in [lo, hi). */
    private static void uniform(Buf b, Random r, double lo, double hi) {
        for (int i = 0; i < b.numel(); i++) b.set(i, (float) (lo + (hi - lo) * r.nextDouble()));
    }

    @Test
    void convTranspose2d() {
        new CpuHarness(new ConvTranspose2d(3, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(0), Pair.of(1), 1, true), s(2, 2, 4, 4)).gradCheck(MAX);
    }

    @Test
    void convTranspose2dStridePaddingOutputPaddingDilation() {
        new CpuHarness(new ConvTranspose2d(2, Pair.of(3), Pair.of(2), Pair.of(1), Pair.of(1), Pair.of(1), 1, true), s(2, 3, 3, 3)).gradCheck(MAX);
        new CpuHarness(new ConvTranspose2d(2, new Pair(2, 3), new Pair(2, 1), new Pair(0, 1), new Pair(1, 0), new Pair(1, 2), 1, false),
                s(1, 2, 3, 4)).gradCheck(MAX);
    }

    @Test
    void convTranspose2dGroups() {
        new CpuHarness(new ConvTranspose2d(4, Pair.of(2), Pair.of(2), Pair.of(0), Pair.of(0), Pair.of(1), 2, true), s(2, 4, 3, 3)).gradCheck(MAX);
    }

    @Test
    void convTranspose3d() {
        new CpuHarness(new ConvTranspose3d(3, Triple.of(2), Triple.of(1), Triple.of(0), Triple.of(0), Triple.of(1), 1,
                true), s(2, 2, 2, 3, 2)).gradCheck(MAX);
        new CpuHarness(new ConvTranspose3d(2, new Triple(3, 2, 1), new Triple(2, 1, 2), new Triple(1, 0, 0),
                new Triple(1, 0, 1), new Triple(1, 2, 1), 1, false), s(1, 2, 2, 2, 3)).gradCheck(MAX);
        new CpuHarness(new ConvTranspose3d(4, Triple.of(2), Triple.of(2), Triple.of(0), Triple.of(0), Triple.of(1), 2,
                true), s(2, 4, 2, 2, 1)).gradCheck(MAX);
    }

    /** Every mode and coordinate transformation, at integer and non-integer scales, 1-D to 3-D. */
    @Test
    void resize() {
        for (String co : Resize.COORDINATES)
            for (String mode : Resize.MODES)
                new CpuHarness(new Resize(List.of(7, 4), List.of(1.5, 0.75), mode, co, "round_prefer_ceil", -0.75,
                        false), s(2, 2, 5, 6)).gradCheck(MAX);
        for (String rounding : Resize.ROUNDINGS)
            new CpuHarness(new Resize(List.of(8), List.of(), "nearest", "half_pixel", rounding, -0.75, false),
                    s(2, 3, 5)).gradCheck(MAX);
        new CpuHarness(Resize.of("cubic", "pytorch_half_pixel", 9, 2), s(1, 2, 4, 5)).gradCheck(MAX);
        new CpuHarness(new Resize(List.of(9, 3), List.of(), "cubic", "half_pixel", "floor", -0.5, true),
                s(1, 2, 4, 5)).gradCheck(MAX);
        new CpuHarness(Resize.of("linear", "align_corners", 3, 5, 4), s(1, 2, 2, 3, 2)).gradCheck(MAX);
        new CpuHarness(Resize.of("nearest", "asymmetric", 4, 6, 3), s(1, 2, 2, 3, 2)).gradCheck(MAX);
    }

    @Test
    void flip() {
        new CpuHarness(new Flip(List.of(1)), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(new Flip(List.of(0, -1)), s(2, 3, 4)).gradCheck(MAX);
    }

    @Test
    void leakyReluHardSigmoidHardSwish() {
        CpuHarness l = new CpuHarness(new LeakyReLU(0.1), s(2, 3, 4));
        awayFromZero(l.in[0]);
        l.gradCheck(MAX);
        CpuHarness hs = new CpuHarness(new HardSigmoid(0.4, 0.5), s(3, 20));
        l.randomize(hs.in[0], 3f);
        awayFrom(hs.in[0], -1.25, 1.25);
        hs.gradCheck(MAX);
        CpuHarness sw = new CpuHarness(new HardSwish(), s(3, 20));
        sw.randomize(sw.in[0], 5f);
        awayFrom(sw.in[0], -3, 3);
        sw.gradCheck(MAX);
    }

    @Test
    void mish() {
        CpuHarness m = new CpuHarness(new Mish(), s(3, 40));
        m.randomize(m.in[0], 6f);   // both tails: softplus near 0 and near x
        m.gradCheck(MAX);
        CpuHarness si = new CpuHarness(new SiLU(), s(3, 40));
        si.randomize(si.in[0], 6f);
        si.gradCheck(MAX);
    }

    @Test
    void sqrtAndClip() {
        CpuHarness q = new CpuHarness(new Sqrt(), s(2, 3, 4));
        uniform(q.in[0], q.rnd, 0.3, 2);
        q.gradCheck(MAX);
        CpuHarness c = new CpuHarness(new Clip(-0.5, 0.5), s(3, 20));
        awayFrom(c.in[0], -0.5, 0.5);
        c.gradCheck(MAX);
        CpuHarness relu6 = new CpuHarness(new Clip(0, Double.POSITIVE_INFINITY), s(2, 10));
        awayFromZero(relu6.in[0]);
        relu6.gradCheck(MAX);
    }

    @Test
    void castFloatToFloatPassesTheGradient() {
        new CpuHarness(new Cast(null), s(2, 3)).gradCheck(MAX);
    }

    @Test
    void broadcastAddMulSub() {
        new CpuHarness(new Add(), s(2, 3, 4), s(3, 1)).gradCheck(MAX);
        new CpuHarness(new Add(), s(2, 1, 4), s(3, 1)).gradCheck(MAX);
        new CpuHarness(new Mul(), s(2, 3, 4), s(2, 3, 1)).gradCheck(MAX);
        new CpuHarness(new Mul(), s(4), s(2, 3, 1)).gradCheck(MAX);
        new CpuHarness(new Sub(), s(2, 3, 4), s(4)).gradCheck(MAX);
        new CpuHarness(new Sub(), s(3, 1), s(2, 1, 5)).gradCheck(MAX);
        new CpuHarness(new Sub(), s(2, 3), s(2, 3)).gradCheck(MAX);
    }

    @Test
    void divAndPow() {
        CpuHarness d = new CpuHarness(new Div(), s(2, 3, 4), s(3, 1));
        uniform(d.in[1], d.rnd, 0.5, 1.5);
        d.gradCheck(MAX);
        CpuHarness d2 = new CpuHarness(new Div(), s(3, 1), s(2, 3, 4));
        uniform(d2.in[1], d2.rnd, -1.5, -0.5);
        d2.gradCheck(MAX);
        CpuHarness p = new CpuHarness(new Pow(), s(2, 3, 4), s(4));
        uniform(p.in[0], p.rnd, 0.5, 1.5);
        p.gradCheck(MAX);
        CpuHarness p2 = new CpuHarness(new Pow(), s(2, 1), s(2, 3));
        uniform(p2.in[0], p2.rnd, 0.5, 1.5);
        uniform(p2.in[1], p2.rnd, -2, 2);
        p2.gradCheck(MAX);
    }

    @Test
    void constElementwiseScalars() {
        new CpuHarness(ConstElementwise.scalar("add", 3, false), s(2, 3)).gradCheck(MAX);
        new CpuHarness(ConstElementwise.scalar("sub", 1, true), s(2, 3)).gradCheck(MAX);
        new CpuHarness(ConstElementwise.scalar("mul", 0.5, false), s(2, 3)).gradCheck(MAX);
        new CpuHarness(ConstElementwise.scalar("div", 8, false), s(2, 3)).gradCheck(MAX);
        CpuHarness rdiv = new CpuHarness(ConstElementwise.scalar("div", 2, true), s(2, 3));
        uniform(rdiv.in[0], rdiv.rnd, 0.5, 1.5);
        rdiv.gradCheck(MAX);
        new CpuHarness(ConstElementwise.scalar("pow", 2, false), s(2, 3)).gradCheck(MAX);
        CpuHarness sq = new CpuHarness(ConstElementwise.scalar("pow", 0.5, false), s(2, 3));
        uniform(sq.in[0], sq.rnd, 0.5, 1.5);
        sq.gradCheck(MAX);
        new CpuHarness(ConstElementwise.scalar("pow", 2, true), s(2, 3)).gradCheck(MAX);
    }

    private static ConstElementwise cst(String fn, boolean reversed, boolean trainable, int... shape) {
        return new ConstElementwise(fn, java.util.Arrays.stream(shape).boxed().toList(), 0, reversed, trainable);
    }

    @Test
    void constElementwiseTensors() {
        new CpuHarness(cst("add", false, true, 4), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(cst("add", false, true, 3, 1), s(2, 1, 4)).gradCheck(MAX); // both broadcast
        new CpuHarness(cst("sub", true, true, 1, 4), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(cst("mul", false, true, 3, 1), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(cst("mul", true, false, 3, 4), s(2, 3, 4)).gradCheck(MAX); // a buffer: no gradient for it
        CpuHarness div = new CpuHarness(cst("div", false, true, 4), s(2, 3, 4));
        uniform(div.params[0], div.rnd, 0.5, 1.5);
        div.gradCheck(MAX);
        CpuHarness rdiv = new CpuHarness(cst("div", true, true, 3, 1), s(2, 3, 4));
        uniform(rdiv.in[0], rdiv.rnd, 0.5, 1.5);
        rdiv.gradCheck(MAX);
        CpuHarness pow = new CpuHarness(cst("pow", false, true, 4), s(2, 3, 4));
        uniform(pow.in[0], pow.rnd, 0.5, 1.5);
        pow.gradCheck(MAX);
        CpuHarness rpow = new CpuHarness(cst("pow", true, true, 4), s(2, 3, 4));
        uniform(rpow.params[0], rpow.rnd, 1.5, 2.5);
        rpow.gradCheck(MAX);
    }

    @Test
    void reduceMean() {
        new CpuHarness(new ReduceMean(List.of(-1), true), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(new ReduceMean(List.of(0, 2), false), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(new ReduceMean(List.of(), false), s(2, 3)).gradCheck(MAX);
    }

    @Test
    void splitPad() {
        new CpuHarness(new Split(1, List.of(1, 2, 3)), s(2, 6, 2)).gradCheck(MAX);
        new CpuHarness(new Split(-1, List.of(2, 2)), s(3, 4)).gradCheck(MAX);
        new CpuHarness(new Pad(List.of(0, 1, 2, 0, 2, 1), "constant"), s(2, 3, 4)).gradCheck(MAX);
        new CpuHarness(new Pad(List.of(0, 0, 2, 1, 0, 0, 1, 3), "reflect"), s(1, 2, 3, 3)).gradCheck(MAX);
        new CpuHarness(new Pad(List.of(0, 2, 0, 3), "edge"), s(2, 3)).gradCheck(MAX);
        new CpuHarness(new Pad(List.of(0, 2, 1, 0, 4, 2), "wrap"), s(2, 3, 2)).gradCheck(MAX); // wider than the dim
        new CpuHarness(new Pad(List.of(0, -1, 0, 2), "constant"), s(2, 3)).gradCheck(MAX); // crops
    }

    @Test
    void maskedFill() {
        CpuHarness in = new CpuHarness(new MaskedFill(List.of(), -5, true), s(2, 3, 4), s(2, 1, 4));
        for (int i = 0; i < 8; i++) in.in[1].setLong(i, i % 3 == 0 ? 0 : 1);
        in.gradCheck(MAX);
        CpuHarness small = new CpuHarness(new MaskedFill(List.of(), 0, false), s(3, 4), s(2, 3, 4)); // x broadcast
        for (int i = 0; i < 24; i++) small.in[1].setLong(i, i % 5 == 0 ? 1 : 0);
        small.gradCheck(MAX);
        CpuHarness buf = new CpuHarness(new MaskedFill(List.of(1, 3, 3), -1e9, true), s(2, 3, 3));
        for (int i = 0; i < 9; i++) buf.params[0].set(i, i / 3 >= i % 3 ? 1f : 0f); // causal
        buf.gradCheck(MAX);
    }

    @Test
    void opaquePlaceholder() {
        new CpuHarness(new Opaque("onnx:Foo", 2, 2), s(2, 3), s(2, 3)).gradCheck(MAX);
        new CpuHarness(new Opaque("onnx:Bar", 1, 1), s(4)).gradCheck(MAX);
    }

    @Test
    void cumSum() {
        for (int m = 0; m < 4; m++) {
            new CpuHarness(new CumSum(1, m % 2 == 1, m >= 2), s(2, 5, 3)).gradCheck(MAX);
            new CpuHarness(new CumSum(-1, m % 2 == 1, m >= 2), s(3, 4)).gradCheck(MAX);
        }
        new CpuHarness(new CumSum(0, false, true), s(4, 3)).gradCheck(MAX);
    }

    @Test
    void topK() {
        new CpuHarness(new TopK(1, 2, true, true), s(2, 5, 3)).gradCheck(MAX);
        new CpuHarness(new TopK(-1, 3, false, true), s(3, 6)).gradCheck(MAX);
        new CpuHarness(new TopK(0, 4, true, false), s(4, 2)).gradCheck(MAX); // k = the whole axis
    }

    @Test
    void modGradientToTheDividend() {
        CpuHarness rem = new CpuHarness(ConstElementwise.scalar("mod", 3, false), s(2, 3));
        uniform(rem.in[0], rem.rnd, 0.5, 2.5); // away from the jumps at multiples of 3
        rem.gradCheck(MAX);
        CpuHarness fm = new CpuHarness(ConstElementwise.scalar("fmod", -3, false), s(2, 3));
        uniform(fm.in[0], fm.rnd, -2.5, -0.5);
        fm.gradCheck(MAX);
        CpuHarness learned = new CpuHarness(cst("mod", false, true, 3), s(2, 3)); // the divisor gets -g floor(x / c)
        uniform(learned.in[0], learned.rnd, 3.2, 3.4); // x / c in (2.06, 2.27): floor 2
        uniform(learned.params[0], learned.rnd, 1.5, 1.55);
        learned.gradCheck(MAX);
        CpuHarness rev = new CpuHarness(cst("fmod", true, false, 3), s(2, 3)); // c fmod x: x gets -g trunc(c / x)
        uniform(rev.in[0], rev.rnd, 1.5, 1.55);
        uniform(rev.params[0], rev.rnd, 3.2, 3.4);
        rev.gradCheck(MAX);
    }

    @Test
    void scatterNd() {
        for (boolean add : new boolean[]{false, true}) {
            CpuHarness h = new CpuHarness(new ScatterND(add), s(4, 3, 2), s(2, 2), s(2, 2));
            long[] idx = {1, 2, 3, 0}; // distinct tuples (1, 2) and (3, 0)
            for (int i = 0; i < 4; i++) h.in[1].setLong(i, idx[i]);
            h.gradCheck(MAX);
        }
        CpuHarness rows = new CpuHarness(new ScatterND(true), s(3, 4), s(4, 1), s(4, 4)); // repeated rows add
        long[] idx = {0, 2, 0, 1};
        for (int i = 0; i < 4; i++) rows.in[1].setLong(i, idx[i]);
        rows.gradCheck(MAX);
    }
}

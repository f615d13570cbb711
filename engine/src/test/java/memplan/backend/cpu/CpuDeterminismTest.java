package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Mul;
import memplan.ops.*;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Same inputs give bit-identical outputs, aux and gradients run after run, and with 1, 3 or the default number of
 * threads (kernels run inside a ForkJoinPool of that parallelism).
 */
class CpuDeterminismTest {
    private static Shape s(int... d) {
        return Shape.of(d);
    }

    /** Forward then backward (all gradients) on a fresh harness; returns every result's raw bits. */
    private static int[] run(Supplier<CpuHarness> make) {
        CpuHarness h = make.get();
        h.forward();
        List<Buf> results = new ArrayList<>(List.of(h.out));
        results.addAll(List.of(h.aux));
        Buf[] gy = new Buf[h.out.length];
        for (int k = 0; k < gy.length; k++) {
            gy[k] = h.alloc(h.out[k].shape(), DType.FP32);
            h.randomize(gy[k], 1f);
        }
        var ps = h.node.op().params(h.node.inShapes());
        Buf[] gIn = new Buf[h.in.length], gP = new Buf[h.params.length];
        for (int i = 0; i < gIn.length; i++) if (h.wantsGrad(i)) results.add(gIn[i] = h.alloc(h.in[i].shape(), DType.FP32));
        for (int p = 0; p < gP.length; p++) if (ps.get(p).trainable()) results.add(gP[p] = h.alloc(h.params[p].shape(), DType.FP32));
        h.backward(gy, gIn, gP, new boolean[gIn.length], new boolean[gP.length]);
        results.addAll(List.of(h.params)); // BatchNorm running statistics
        int total = 0;
        for (Buf b : results) total += b.slots();
        int[] bits = new int[total];
        int at = 0;
        for (Buf b : results) for (int i = 0; i < b.slots(); i++) bits[at++] = Float.floatToRawIntBits(b.data()[b.offset() + i]);
        return bits;
    }

    private static int[] inPool(int threads, Supplier<CpuHarness> make) throws Exception {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            return pool.submit(() -> run(make)).get();
        } finally {
            pool.shutdown();
        }
    }

    private static void check(String what, Supplier<CpuHarness> make) throws Exception {
        int[] ref = run(make);
        assertArrayEquals(ref, run(make), what + ": second run differs");
        assertArrayEquals(ref, inPool(1, make), what + ": 1 thread differs");
        assertArrayEquals(ref, inPool(3, make), what + ": 3 threads differ");
    }

    @Test
    void gemmOps() throws Exception {
        check("Linear", () -> new CpuHarness(new Linear(300, true), s(130, 70)));
        check("MatMul", () -> new CpuHarness(new MatMul(true), s(3, 40, 20), s(3, 50, 20)));
        check("MatMul few large", () -> new CpuHarness(new MatMul(false), s(2, 128, 96), s(2, 96, 100)));
        check("MatMul single", () -> new CpuHarness(new MatMul(false), s(129, 300), s(300, 70)));
    }

    @Test
    void convolutions() throws Exception {
        check("Conv2d 3x3", () -> new CpuHarness(Conv2d.of(8, 3, 1, 1, true), s(3, 4, 12, 12)));
        check("Conv2d grouped strided", () -> new CpuHarness(new Conv2d(6, Pair.of(3), Pair.of(2), Pair.of(1), Pair.of(2), 2, false), s(2, 4, 11, 11)));
        check("Conv2d 1x1", () -> new CpuHarness(Conv2d.of(8, 1, 1, 0, true), s(3, 5, 6, 6)));
        // large enough that the per-image staging copies run in parallel (the ones above run on the caller)
        check("Conv2d 3x3 parallel staging", () -> new CpuHarness(Conv2d.of(8, 3, 1, 1, false), s(4, 8, 24, 24)));
    }

    /**
     * The OpenBLAS convolution in groups of images (the staging bound made small): 3 images as 2 + 1, the weight
     * gradient summed over the groups in order. Bitwise across runs and thread counts, and close to one product
     * over all images.
     */
    @Test
    void convolutionsInGroupsOfImages() throws Exception {
        Supplier<CpuHarness> conv = () -> new CpuHarness(Conv2d.of(8, 3, 1, 1, true), s(3, 4, 12, 12));
        Supplier<CpuHarness> pointwise = () -> new CpuHarness(Conv2d.of(16, 1, 1, 0, true), s(3, 16, 8, 8));
        long saved = GemmKernels.ConvK.stageFloats;
        int[] convWhole = run(conv), pointwiseWhole = run(pointwise);
        try {
            // per image (rows + out channels) * ohw floats
            GemmKernels.ConvK.stageFloats = 2 * (36 + 8) * 144;
            assertEquals(2, GemmKernels.ConvK.imagesPerProduct(3, 8, 36, 144));
            check("Conv2d 3x3 in groups of images", conv);
            assertClose(convWhole, run(conv), "Conv2d 3x3 in groups of images");
            GemmKernels.ConvK.stageFloats = (16 + 16) * 64;
            assertEquals(1, GemmKernels.ConvK.imagesPerProduct(3, 16, 16, 64));
            check("Conv2d 1x1 one image per product", pointwise);
            assertClose(pointwiseWhole, run(pointwise), "Conv2d 1x1 one image per product");
        } finally {
            GemmKernels.ConvK.stageFloats = saved;
        }
    }

    /** Same results up to the order of the sums: differing bits but close values. */
    private static void assertClose(int[] expected, int[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            float e = Float.intBitsToFloat(expected[i]), a = Float.intBitsToFloat(actual[i]);
            assertEquals(e, a, 1e-4f * (1 + Math.abs(e)), what + ": result " + i);
        }
    }

    @Test
    void normsAttentionAndSequences() throws Exception {
        check("BatchNorm2d", () -> new CpuHarness(new BatchNorm2d(1e-5, 0.1), s(4, 6, 5, 5)));
        check("BatchNorm2d in channel chunks", () -> new CpuHarness(new BatchNorm2d(1e-5, 0.1), s(4, 16, 32, 32)));
        check("LayerNorm", () -> new CpuHarness(new LayerNorm(1e-5), s(4, 33, 40)));
        check("Attention", () -> new CpuHarness(new Attention(4, true), s(3, 17, 32), s(3, 17, 32), s(3, 17, 32)));
        check("LSTMCell", () -> new CpuHarness(new LSTMCell(16), s(5, 7), s(5, 16), s(5, 16)));
        check("Dropout", () -> new CpuHarness(new Dropout(0.2), s(70000)));
        check("Softmax", () -> new CpuHarness(new Softmax(), s(50, 31)));
        check("Embedding", () -> {
            CpuHarness h = new CpuHarness(new Embedding(50, 40), s(4, 25));
            for (int i = 0; i < 100; i++) h.in[0].setLong(i, (i * 7) % 13);
            return h;
        });
        check("CrossEntropy", () -> {
            CpuHarness h = new CpuHarness(new CrossEntropy(-1), s(4, 20, 30), s(4, 20));
            for (int i = 0; i < 80; i++) h.in[1].setLong(i, (i * 11) % 30);
            return h;
        });
        check("MaxPool2d", () -> new CpuHarness(new MaxPool2d(Pair.of(3), Pair.of(2), Pair.of(1)), s(2, 5, 9, 9)));
    }

    @Test
    void importerOps() throws Exception {
        check("ConvTranspose2d", () -> new CpuHarness(new ConvTranspose2d(6, Pair.of(3), Pair.of(2), Pair.of(1), Pair.of(1), Pair.of(1), 2, true),
                s(3, 4, 9, 9)));
        check("BroadcastMul reduced", () -> new CpuHarness(new Mul(), s(4, 30, 40, 20), s(30, 1, 20)));
        check("Pow", () -> {
            CpuHarness h = new CpuHarness(new Pow(), s(8, 300, 40), s(40));
            for (int i = 0; i < h.in[0].numel(); i++) h.in[0].set(i, 0.5f + Math.abs(h.in[0].get(i)));
            return h;
        });
        check("Div", () -> new CpuHarness(new Div(), s(70000), s(70000)));
        check("ConstElementwise", () -> new CpuHarness(new ConstElementwise("mul", List.of(40, 1), 0, false, true), s(30, 40, 60)));
        check("ReduceMean", () -> new CpuHarness(new ReduceMean(List.of(0, 2), true), s(20, 50, 70)));
        check("Pad reflect", () -> new CpuHarness(new Pad(List.of(0, 0, 2, 3, 0, 0, 3, 2), "reflect"), s(4, 8, 40, 40)));
        check("Split", () -> new CpuHarness(new Split(1, List.of(100, 200)), s(50, 300)));
        check("HardSwish", () -> new CpuHarness(new HardSwish(), s(70000)));
        check("MaskedFill", () -> {
            CpuHarness h = new CpuHarness(new MaskedFill(List.of(), -1, true), s(20, 60, 60), s(20, 1, 60));
            for (int i = 0; i < 1200; i++) h.in[1].setLong(i, i % 3);
            return h;
        });
    }
}

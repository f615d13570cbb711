package memplan.ops;

import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ir.ShapeException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Shape inference of every op in {@link OpRegistry}: valid inputs give exactly the expected shapes, invalid ones
 * throw {@link ShapeException} with a message that names the op and says what is wrong.
 */
class OpShapeTest {
    /** Op types that have at least one valid case below; checked against the registry. */
    private static final Set<String> COVERED = new HashSet<>();

    static Shape s(int... d) {
        return Shape.of(d);
    }

    static void ok(Op op, List<Shape> in, Shape... expected) {
        COVERED.add(op.type());
        assertEquals(List.of(expected), op.inferShapes(in), op + " on " + in);
        assertEquals(expected.length, op.outputCount(), op.type() + " output count");
        if (op.arity() >= 0) assertEquals(op.arity(), in.size(), op.type() + " arity");
    }

    static void bad(Op op, List<Shape> in, String... fragments) {
        ShapeException e = assertThrows(ShapeException.class, () -> op.inferShapes(in), op + " on " + in);
        assertTrue(e.getMessage().startsWith(op.type() + ":"), "message names the op: " + e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' should contain '" + f + "'");
    }

    static Conv2d conv(int out, int k, int stride, int pad, int dil, int groups) {
        return new Conv2d(out, Pair.of(k), Pair.of(stride), Pair.of(pad), Pair.of(dil), groups, true);
    }

    @Test
    void conv2d() {
        ok(Conv2d.of(64, 7, 2, 3, false), List.of(s(2, 3, 224, 224)), s(2, 64, 112, 112));
        ok(conv(16, 3, 1, 1, 1, 1), List.of(s(1, 8, 5, 7)), s(1, 16, 5, 7));
        ok(conv(32, 3, 1, 1, 1, 32), List.of(s(4, 32, 8, 8)), s(4, 32, 8, 8)); // depthwise
        ok(conv(4, 3, 1, 0, 2, 1), List.of(s(1, 2, 7, 9)), s(1, 4, 3, 5)); // dilation 2: effective kernel 5
        ok(new Conv2d(8, new Pair(1, 3), new Pair(1, 2), new Pair(0, 1), Pair.of(1), 1, true), List.of(s(1, 2, 4, 9)), s(1, 8, 4, 5));
        ok(conv(8, 3, 2, 0, 1, 1), List.of(s(1, 1, 6, 6)), s(1, 8, 2, 2)); // floor((6-3)/2)+1
        bad(conv(8, 3, 1, 1, 1, 2), List.of(s(1, 3, 8, 8)), "channels in (3)", "divisible by groups (2)");
        bad(conv(9, 3, 1, 1, 1, 2), List.of(s(1, 4, 8, 8)), "out (9)", "divisible by groups (2)");
        bad(conv(8, 5, 1, 0, 1, 1), List.of(s(1, 3, 3, 3)), "kernel 5", "does not fit height 3");
        bad(conv(8, 3, 1, 0, 3, 1), List.of(s(1, 3, 6, 6)), "dilation 3", "does not fit");
        bad(conv(8, 3, 1, 1, 1, 1), List.of(s(3, 8, 8)), "input 0 must have rank 4", "[3x8x8]");
        bad(conv(0, 3, 1, 1, 1, 1), List.of(s(1, 3, 8, 8)), "out must be positive");
        bad(conv(8, 3, 0, 1, 1, 1), List.of(s(1, 3, 8, 8)), "stride must be positive");
        bad(conv(8, 3, 1, -1, 1, 1), List.of(s(1, 3, 8, 8)), "padding must not be negative, got -1");
        bad(conv(8, 3, 1, 1, 0, 1), List.of(s(1, 3, 8, 8)), "dilation must be positive, got 0");
        bad(new AvgPool2d(Pair.of(2), Pair.of(2), Pair.of(-1)), List.of(s(1, 3, 8, 8)), "padding must not be negative");
    }

    @Test
    void linearAndMatMul() {
        ok(new Linear(10, true), List.of(s(4, 20)), s(4, 10));
        ok(new Linear(7, false), List.of(s(2, 5, 20)), s(2, 5, 7));
        bad(new Linear(10, true), List.of(s()), "rank at least 1");
        bad(new Linear(0, true), List.of(s(4, 20)), "out must be positive");

        ok(new MatMul(false), List.of(s(2, 3, 4), s(2, 4, 5)), s(2, 3, 5));
        ok(new MatMul(true), List.of(s(2, 3, 4), s(2, 5, 4)), s(2, 3, 5));
        ok(new MatMul(false), List.of(s(3, 4), s(4, 6)), s(3, 6));
        bad(new MatMul(false), List.of(s(2, 3, 4), s(2, 5, 5)), "inner dimensions differ", "[2x3x4]", "[2x5x5]");
        bad(new MatMul(true), List.of(s(2, 3, 4), s(2, 4, 5)), "inner dimensions differ", "(transposed)");
        bad(new MatMul(false), List.of(s(2, 3, 4), s(3, 4, 5)), "batch dimensions differ");
        bad(new MatMul(false), List.of(s(2, 3, 4), s(4, 5)), "same rank");
        bad(new MatMul(false), List.of(s(4), s(4, 5)), "input 0 must have rank at least 2");
    }

    @Test
    void normalisation() {
        ok(new BatchNorm2d(1e-5, 0.1), List.of(s(2, 3, 4, 4)), s(2, 3, 4, 4));
        bad(new BatchNorm2d(1e-5, 0.1), List.of(s(2, 3)), "rank 4");
        ok(new LayerNorm(1e-5), List.of(s(2, 5, 8)), s(2, 5, 8));
        ok(new LayerNorm(1e-5), List.of(s(8)), s(8));
        bad(new LayerNorm(1e-5), List.of(s()), "rank at least 1");
    }

    @Test
    void elementwise() {
        for (Op op : List.of(new ReLU(), new GELU(), new Sigmoid(), new Tanh(), new Dropout(0.1), new Softmax()))
            ok(op, List.of(s(2, 3, 4)), s(2, 3, 4));
        ok(new Add(), List.of(s(2, 3), s(2, 3)), s(2, 3));
        ok(new Mul(), List.of(s(2, 3), s(2, 3)), s(2, 3));
        bad(new Add(), List.of(s(2, 3), s(2, 4)), "do not broadcast", "[2x3] and [2x4]");
        bad(new Mul(), List.of(s(2, 3), s(3, 2)), "do not broadcast");
        bad(new Softmax(), List.of(s()), "rank at least 1");
    }

    @Test
    void spatial3dAndGroupNorm() {
        // r3d_18's stem: 3x7x7, stride 1x2x2, padding 1x3x3
        Conv3d stem = new Conv3d(64, new Triple(3, 7, 7), new Triple(1, 2, 2), new Triple(1, 3, 3), Triple.of(1), 1,
                false);
        ok(stem, List.of(s(2, 3, 16, 112, 112)), s(2, 64, 16, 56, 56));
        ok(new Conv3d(6, Triple.of(3), Triple.of(2), Triple.of(0), Triple.of(2), 3, true), List.of(s(1, 3, 9, 9, 9)),
                s(1, 6, 3, 3, 3));
        bad(stem, List.of(s(2, 3, 112, 112)), "rank 5");
        bad(Conv3d.of(4, 3, 1, 0, true), List.of(s(1, 3, 2, 8, 8)), "does not fit depth 2");
        bad(new Conv3d(4, Triple.of(1), Triple.of(1), Triple.of(0), Triple.of(1), 2, true), List.of(s(1, 3, 2, 2, 2)),
                "divisible by groups");
        ok(new MaxPool3d(Triple.of(3), Triple.of(2), Triple.of(1)), List.of(s(1, 4, 8, 9, 9)), s(1, 4, 4, 5, 5));
        bad(new MaxPool3d(Triple.of(3), Triple.of(2), Triple.of(2)), List.of(s(1, 4, 8, 9, 9)), "at most half");
        ok(new AvgPool3d(new Triple(1, 2, 2), new Triple(1, 2, 2), Triple.of(0)), List.of(s(2, 3, 4, 6, 6)),
                s(2, 3, 4, 3, 3));
        bad(new AvgPool3d(Triple.of(2), Triple.of(2), Triple.of(0)), List.of(s(2, 3, 1, 6, 6)), "does not fit depth");
        ok(new GroupNorm(4, 1e-5, true), List.of(s(2, 8, 5, 5)), s(2, 8, 5, 5));
        ok(new GroupNorm(2, 1e-5, false), List.of(s(2, 6, 7)), s(2, 6, 7));
        bad(new GroupNorm(3, 1e-5, true), List.of(s(2, 8, 5, 5)), "divisible by groups (3)");
    }

    @Test
    void pooling() {
        MaxPool2d resnetPool = new MaxPool2d(Pair.of(3), Pair.of(2), Pair.of(1));
        ok(resnetPool, List.of(s(1, 64, 112, 112)), s(1, 64, 56, 56));
        ok(new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), List.of(s(1, 3, 5, 5)), s(1, 3, 2, 2));
        bad(new MaxPool2d(Pair.of(3), Pair.of(2), Pair.of(2)), List.of(s(1, 3, 8, 8)), "padding 2", "at most half the kernel 3");
        bad(new MaxPool2d(Pair.of(4), Pair.of(4), Pair.of(0)), List.of(s(1, 3, 3, 3)), "kernel 4", "does not fit height 3");
        bad(resnetPool, List.of(s(3, 8, 8)), "rank 4");

        ok(new AvgPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), List.of(s(1, 1, 5, 5)), s(1, 1, 2, 2));
        ok(new AvgPool2d(Pair.of(3), Pair.of(1), Pair.of(1)), List.of(s(2, 4, 6, 6)), s(2, 4, 6, 6));
        bad(new AvgPool2d(Pair.of(7), Pair.of(7), Pair.of(0)), List.of(s(1, 1, 6, 6)), "does not fit");

        ok(new GlobalAvgPool(), List.of(s(2, 8, 7, 7)), s(2, 8, 1, 1));
        bad(new GlobalAvgPool(), List.of(s(2, 8)), "rank 4");
    }

    @Test
    void concat() {
        ok(new Concat(1), List.of(s(2, 3, 4, 4), s(2, 5, 4, 4)), s(2, 8, 4, 4));
        ok(new Concat(-1), List.of(s(2, 3), s(2, 4), s(2, 1)), s(2, 8));
        ok(new Concat(0), List.of(s(2, 3)), s(2, 3));
        bad(new Concat(1), List.of(s(2, 3, 4, 4), s(2, 3, 5, 4)), "differ outside axis 1", "[2x3x4x4] and [2x3x5x4]");
        bad(new Concat(1), List.of(s(2, 3, 4), s(2, 3)), "same rank");
        bad(new Concat(3), List.of(s(2, 3), s(2, 3)), "axis 3 is out of range for rank 2");
    }

    @Test
    void viewsAndCopies() {
        ok(new Flatten(1), List.of(s(2, 3, 4, 5)), s(2, 60));
        ok(new Flatten(2), List.of(s(2, 3, 4, 5)), s(2, 3, 20));
        ok(new Flatten(0), List.of(s(2, 3)), s(6));
        bad(new Flatten(4), List.of(s(2, 3, 4, 5)), "out of range");
        bad(new Flatten(1), List.of(s()), "input 0 must have rank at least 1, got []");

        ok(new Reshape(List.of(0, -1)), List.of(s(2, 3, 4)), s(2, 12));
        ok(new Reshape(List.of(0, 4, 3)), List.of(s(2, 12)), s(2, 4, 3));
        ok(new Reshape(List.of(-1)), List.of(s(2, 3, 4)), s(24));
        bad(new Reshape(List.of(5, -1)), List.of(s(2, 3, 4)), "cannot reshape [2x3x4] (24 elements)");
        bad(new Reshape(List.of(7)), List.of(s(2, 3, 4)), "cannot reshape [2x3x4] (24 elements) into [7]");
        bad(new Reshape(List.of(-1, -1)), List.of(s(2, 3)), "at most one -1");
        bad(new Reshape(List.of(0, 0, 0)), List.of(s(2, 3)), "0 at position 2", "rank 2");
        bad(new Reshape(List.of(2, -3)), List.of(s(2, 3)), "invalid dimension -3");
        bad(new Reshape(List.of(-1)), List.of(s(65536, 65536)), "cannot reshape [65536x65536] (4294967296 elements) into [-1]");

        ok(new Transpose(List.of(0, 2, 1)), List.of(s(2, 3, 4)), s(2, 4, 3));
        ok(new Transpose(List.of(0, 2, 1, 3)), List.of(s(2, 5, 4, 8)), s(2, 4, 5, 8));
        bad(new Transpose(List.of(0, 1)), List.of(s(2, 3, 4)), "does not match rank");
        bad(new Transpose(List.of(0, 1, 1)), List.of(s(2, 3, 4)), "is not a permutation");

        ok(new Slice(1, 0, 1), List.of(s(2, 5, 8)), s(2, 1, 8));
        ok(new Slice(-1, 2, 5), List.of(s(2, 5, 8)), s(2, 5, 3));
        bad(new Slice(1, 3, 6), List.of(s(2, 5, 8)), "[3, 6)", "outside 0..5");
        bad(new Slice(1, 2, 2), List.of(s(2, 5, 8)), "is empty");

        ok(new Upsample(2), List.of(s(1, 2, 3, 4)), s(1, 2, 6, 8));
        ok(new Upsample(3), List.of(s(1, 2, 3, 4)), s(1, 2, 9, 12));
        bad(new Upsample(2), List.of(s(1, 2, 3)), "rank 4");
    }

    @Test
    void embeddingAndAttention() {
        ok(new Embedding(100, 16), List.of(s(2, 7)), s(2, 7, 16));
        ok(new Embedding(100, 16), List.of(s(3)), s(3, 16));
        bad(new Embedding(0, 16), List.of(s(2, 7)), "num must be positive");

        Attention att = new Attention(4, true);
        ok(att, List.of(s(2, 10, 32), s(2, 10, 32), s(2, 10, 32)), s(2, 10, 32));
        ok(new Attention(2, false), List.of(s(2, 3, 8), s(2, 6, 8), s(2, 6, 8)), s(2, 3, 8)); // cross attention
        bad(new Attention(5, false), List.of(s(2, 10, 32), s(2, 10, 32), s(2, 10, 32)), "width 32 is not divisible by 5 heads");
        bad(att, List.of(s(2, 10, 32), s(2, 10, 32), s(2, 9, 32)), "key and value must have the same shape");
        bad(att, List.of(s(2, 10, 32), s(3, 10, 32), s(3, 10, 32)), "differ in batch or width");
        bad(att, List.of(s(2, 10, 32), s(2, 10, 16), s(2, 10, 16)), "differ in batch or width");
        bad(att, List.of(s(20, 32), s(2, 10, 32), s(2, 10, 32)), "input 0 must have rank 3");
        bad(new Attention(0, false), List.of(s(2, 10, 32), s(2, 10, 32), s(2, 10, 32)), "heads must be positive");
        for (Attention.Form f : Attention.Form.values()) {   // grouped-query and multi-query attention
            ok(new Attention(8, 2, true, f), List.of(s(2, 10, 64), s(2, 10, 16), s(2, 10, 16)), s(2, 10, 64));
            ok(new Attention(8, 1, true, f), List.of(s(2, 10, 64), s(2, 12, 8), s(2, 12, 8)), s(2, 10, 64));
            bad(new Attention(8, 3, true, f), List.of(s(2, 10, 64), s(2, 10, 24), s(2, 10, 24)),
                    "8 heads are not a multiple of 3 key/value heads");
            bad(new Attention(8, 2, true, f), List.of(s(2, 10, 64), s(2, 10, 64), s(2, 10, 64)),
                    "width must be 2 heads of 8");
            bad(new Attention(8, 0, true, f), List.of(s(2, 10, 64), s(2, 10, 8), s(2, 10, 8)), "kvHeads must be positive");
        }
    }

    @Test
    void llamaOps() {
        ok(new RMSNorm(1e-6), List.of(s(2, 7, 16)), s(2, 7, 16));
        ok(new RMSNorm(1e-6), List.of(s(16)), s(16));
        ok(new GatedActivation(GatedActivation.Gate.SILU), List.of(s(2, 7, 16), s(2, 7, 16)), s(2, 7, 16));
        bad(new GatedActivation(GatedActivation.Gate.GELU), List.of(s(2, 7, 16), s(2, 7, 8)), "must have the same shape");
        ok(new RotaryEmbedding(8, 10000), List.of(s(2, 7, 32)), s(2, 7, 32));
        bad(new RotaryEmbedding(7, 10000), List.of(s(2, 7, 28)), "headDim 7 must be even");
        bad(new RotaryEmbedding(8, 10000), List.of(s(2, 7, 28)), "width 28 is not a multiple of headDim 8");
        bad(new RotaryEmbedding(8, 0), List.of(s(2, 7, 32)), "theta must be positive");
        bad(new RotaryEmbedding(8, 10000), List.of(s(7, 32)), "input 0 must have rank 3");
    }

    @Test
    void lstmCell() {
        ok(new LSTMCell(8), List.of(s(4, 3), s(4, 8), s(4, 8)), s(4, 8), s(4, 8));
        bad(new LSTMCell(8), List.of(s(4, 3), s(4, 7), s(4, 8)), "h and c must be [4x8]", "[4x7]");
        bad(new LSTMCell(8), List.of(s(4, 3), s(4, 8), s(5, 8)), "h and c must be [4x8]");
        bad(new LSTMCell(8), List.of(s(4, 3, 1), s(4, 8), s(4, 8)), "input 0 must have rank 2");
    }

    @Test
    void losses() {
        ok(new CrossEntropy(1), List.of(s(4, 10), s(4)), s());
        ok(new CrossEntropy(1), List.of(s(2, 5, 3, 3), s(2, 3, 3)), s()); // segmentation: [N, C, H, W] with [N, H, W]
        ok(new CrossEntropy(-1), List.of(s(2, 7, 50), s(2, 7)), s()); // language model: [N, T, V] with [N, T]
        bad(new CrossEntropy(1), List.of(s(4, 10), s(4, 10)), "target must be [4]", "for logits [4x10]", "got [4x10]");
        bad(new CrossEntropy(1), List.of(s(2, 7, 50), s(2, 7)), "target must be [2x50]", "class axis 1");
        bad(new CrossEntropy(1), List.of(s(10), s()), "rank at least 2");
        bad(new CrossEntropy(2), List.of(s(4, 10), s(4)), "axis 2 is out of range");

        ok(new MseLoss(), List.of(s(4, 3), s(4, 3)), s());
        bad(new MseLoss(), List.of(s(4, 3), s(4, 1)), "same shape");
    }

    @Test
    void inputResolvesSymbols() {
        Input in = new Input(List.of("N", "T", "3"), null);
        assertEquals(s(2, 5, 3), in.resolve(Map.of("N", 2, "T", 5)));
        ShapeException e = assertThrows(ShapeException.class, () -> in.resolve(Map.of("N", 2)));
        assertTrue(e.getMessage().contains("no value for dimension symbol 'T'"), e.getMessage());
        assertEquals(0, in.arity());
        assertNull(in.outputDType(0));
        assertEquals(DType.INT64, new Input(List.of("N"), DType.INT64).outputDType(0));
        COVERED.add("Input");
    }

    @Test
    void fillResolvesSymbolsAndOwnsNothing() {
        Fill f = new Fill(List.of("2", "N", "8"), 0, DType.BOOL);
        assertEquals(s(2, 24, 8), f.resolve(Map.of("N", 24)));
        assertEquals(s(2, 36, 8), f.resolve(Map.of("N", 36)));
        assertThrows(ShapeException.class, () -> f.inferShapes(List.of()));
        assertEquals(s(2, 3), new Fill(List.of("2", "3"), 1, null).inferShapes(List.of()).get(0));
        assertEquals(0, f.arity());
        assertEquals(DType.BOOL, f.outputDType(0));
        assertTrue(f.params(List.of()).isEmpty());
        assertEquals(0, f.flops(List.of(), List.of(s(2, 3))));
        assertThrows(IllegalArgumentException.class, () -> new Fill(List.of("2"), Double.NaN, null));
        COVERED.add("Fill");
    }

    /** Ops added for the ONNX importer (docs/onnx.md). */
    @Test
    void importerOps() {
        ok(new ConvTranspose2d(4, Pair.of(2), Pair.of(2), Pair.of(0), Pair.of(0), Pair.of(1), 1, true), List.of(s(1, 8, 5, 6)), s(1, 4, 10, 12));
        ok(new ConvTranspose2d(4, Pair.of(3), Pair.of(2), Pair.of(1), Pair.of(1), Pair.of(1), 2, false), List.of(s(1, 8, 5, 5)), s(1, 4, 10, 10));
        bad(new ConvTranspose2d(3, Pair.of(2), Pair.of(2), Pair.of(0), Pair.of(0), Pair.of(1), 2, true), List.of(s(1, 8, 5, 6)), "divisible by groups (2)");
        for (Op op : List.of(new LeakyReLU(0.1), new HardSigmoid(0.2, 0.5), new HardSwish(), new Mish(), new SiLU(), new Sqrt(), new Clip(0, 6),
                new Cast(DType.INT64)))
            ok(op, List.of(s(2, 3, 4)), s(2, 3, 4));
        assertEquals(DType.INT64, new Cast(DType.INT64).outputDType(0));
        for (Op op : List.of(new Add(), new Mul(), new Sub(), new Div(), new Pow())) {
            ok(op, List.of(s(2, 5, 8), s(2, 5, 1)), s(2, 5, 8));
            ok(op, List.of(s(8), s(2, 5, 8)), s(2, 5, 8));
            bad(op, List.of(s(2, 5, 8), s(2, 4, 8)), "do not broadcast");
        }
        ok(new ConstElementwise("add", List.of(8), 0, false, true), List.of(s(2, 5, 8)), s(2, 5, 8));
        ok(new ConstElementwise("mul", List.of(1, 5, 8), 0, false, true), List.of(s(2, 1, 8)), s(2, 5, 8));
        ok(ConstElementwise.scalar("pow", 2, false), List.of(s(2, 5)), s(2, 5));
        bad(new ConstElementwise("add", List.of(7), 0, false, true), List.of(s(2, 5, 8)), "do not broadcast");
        ok(new ReduceMean(List.of(-1), true), List.of(s(2, 5, 8)), s(2, 5, 1));
        ok(new ReduceMean(List.of(1, 2), false), List.of(s(2, 5, 8)), s(2));
        ok(new ReduceMean(List.of(), false), List.of(s(2, 5, 8)), s());
        bad(new ReduceMean(List.of(3), true), List.of(s(2, 5, 8)), "axis 3 is out of range");
        ok(new Split(1, List.of(2, 3)), List.of(s(4, 5, 6)), s(4, 2, 6), s(4, 3, 6));
        bad(new Split(1, List.of(2, 2)), List.of(s(4, 5, 6)), "add up to 4");
        ok(new Pad(List.of(0, 0, 1, 2, 0, 0, 3, 4), "reflect"), List.of(s(1, 2, 5, 6)), s(1, 2, 9, 12));
        bad(new Pad(List.of(0, 1), "constant"), List.of(s(1, 2, 5, 6)), "needs 8 pad values");
        ok(new Opaque("onnx:TopK", 2, 2), List.of(s(3, 4), s(3, 4)), s(3, 4), s(3, 4));
        ok(new MaskedFill(List.of(1, 1, 4, 4), -1e9, true), List.of(s(2, 3, 4, 4)), s(2, 3, 4, 4));
        ok(new MaskedFill(List.of(), 0, false), List.of(s(2, 3, 4, 4), s(2, 1, 1, 4)), s(2, 3, 4, 4));
        bad(new MaskedFill(List.of(5), 0, true), List.of(s(2, 4)), "do not broadcast");
        ok(new Fill(List.of("2", "3"), 1, null), List.of(), s(2, 3));
        ok(new Compare(Compare.Relation.EQUAL, null), List.of(s(2, 1, 4), s(3, 1)), s(2, 3, 4));
        ok(new Compare(Compare.Relation.GREATER, 0.5), List.of(s(2, 3)), s(2, 3));
        ok(new Compare(Compare.Relation.NOT, null), List.of(s(5)), s(5));
        bad(new Compare(Compare.Relation.AND, null), List.of(s(2, 3), s(2, 4)), "do not broadcast");
        assertEquals(DType.BOOL, new Compare(Compare.Relation.LESS, null).outputDType(0));
        assertFalse(new Compare(Compare.Relation.LESS, null).differentiable(0));
        // nn.ConvTranspose3d(6, 4, 3, stride=2, padding=1, output_padding=1): (D - 1) 2 - 2 + 2 + 1 + 1 = 2 D
        ok(new ConvTranspose3d(4, Triple.of(3), Triple.of(2), Triple.of(1), Triple.of(1), Triple.of(1), 1, true),
                List.of(s(2, 6, 2, 3, 4)), s(2, 4, 4, 6, 8));
        ok(new ConvTranspose3d(6, new Triple(1, 2, 3), new Triple(1, 2, 1), Triple.of(0), Triple.of(0),
                new Triple(1, 1, 2), 3, false), List.of(s(1, 3, 2, 3, 4)), s(1, 6, 2, 6, 8));
        bad(new ConvTranspose3d(4, Triple.of(3), Triple.of(1), Triple.of(0), Triple.of(0), Triple.of(1), 2, true),
                List.of(s(1, 3, 2, 2, 2)), "divisible by groups (2)");
        bad(new ConvTranspose3d(4, Triple.of(1), Triple.of(1), Triple.of(2), Triple.of(0), Triple.of(1), 1, true),
                List.of(s(1, 3, 2, 2, 2)), "leaves no output");
        ok(new Resize(List.of(7, 9), List.of(1.5, 1.5), "linear", "half_pixel", "round_prefer_floor", -0.75, false),
                List.of(s(2, 3, 5, 6)), s(2, 3, 7, 9));
        ok(Resize.of("cubic", "align_corners", 11), List.of(s(2, 3, 4)), s(2, 3, 11));
        ok(Resize.of("linear", "align_corners", 3, 5, 7), List.of(s(1, 2, 2, 2, 2)), s(1, 2, 3, 5, 7));
        bad(Resize.of("nearest", "asymmetric", 3, 5), List.of(s(1, 2, 2)), "need an input of rank 4");
        ok(new Flip(List.of(0, -1)), List.of(s(2, 3, 4)), s(2, 3, 4));
        bad(new Flip(List.of(1, -2)), List.of(s(2, 3, 4)), "given twice");
        bad(new Flip(List.of(3)), List.of(s(2, 3, 4)), "out of range");
        ok(new Pad(List.of(0, 2, 0, 3), "wrap"), List.of(s(2, 4)), s(2, 9));
        ok(new Compare(Compare.Relation.LESS, null, List.of(3, 1)), List.of(s(2, 1, 4)), s(2, 3, 4));
        assertEquals(1, new Compare(Compare.Relation.EQUAL, null, List.of(4)).arity());
        ok(new CumSum(-1, true, false), List.of(s(2, 3)), s(2, 3));
        bad(new CumSum(2, false, false), List.of(s(2, 3)), "out of range");
        ok(new TopK(1, 2, true, true), List.of(s(2, 5, 4)), s(2, 2, 4), s(2, 2, 4));
        bad(new TopK(1, 6, true, true), List.of(s(2, 5, 4)), "larger than axis");
        assertEquals(DType.INT64, new TopK(1, 2, true, true).outputDType(1));
        ok(new ScatterND(false), List.of(s(4, 3, 5), s(2, 2), s(2, 5)), s(4, 3, 5));
        ok(new ScatterND(true), List.of(s(4, 3), s(6, 2, 1), s(6, 2, 3)), s(4, 3));
        bad(new ScatterND(false), List.of(s(4, 3), s(2, 1), s(2, 4)), "updates");
        bad(new ScatterND(false), List.of(s(4, 3), s(2, 3), s(2)), "do not fit");
    }

    @Test
    void everyRegisteredOpHasShapeCases() {
        // JUnit does not order test methods, so run every case here to fill COVERED.
        conv2d(); linearAndMatMul(); normalisation(); elementwise(); pooling(); concat(); viewsAndCopies();
        embeddingAndAttention(); llamaOps(); lstmCell(); losses(); inputResolvesSymbols(); importerOps();
        spatial3dAndGroupNorm();
        Set<String> missing = new HashSet<>(OpType.names());
        missing.removeAll(COVERED);
        assertTrue(missing.isEmpty(), "ops without shape tests: " + missing + " (covered: " + Arrays.toString(COVERED.toArray()) + ")");
    }
}

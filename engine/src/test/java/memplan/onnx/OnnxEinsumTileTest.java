package memplan.onnx;

import memplan.io.ModelFormatException;
import memplan.ir.Shape;
import memplan.model.ModelDef;
import memplan.ops.MatMul;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static memplan.onnx.proto.Onnx.TensorProto.DataType.FLOAT_VALUE;
import static org.junit.jupiter.api.Assertions.*;

/** Einsum's matrix-product and permutation forms, Tile of a tensor, and operators whose shape depends on data. */
class OnnxEinsumTileTest {
    private static final int FLOAT = FLOAT_VALUE;
    @TempDir
    Path dir;

    private ModelDef einsum(String eq, Object[] a, Object[] b) throws Exception {
        var g = new OnnxGraphBuilder(13).input("a", FLOAT, a);
        if (b != null) g.input("b", FLOAT, b);
        String y = g.node("Einsum", b == null ? List.of("a") : List.of("a", "b"), s("equation", eq));
        return g.output(y).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
    }

    private static boolean transB(ModelDef m) {
        return m.layers().stream().filter(l -> l.op() instanceof MatMul).map(l -> ((MatMul) l.op()).transposeB())
                .findFirst().orElseThrow();
    }

    @Test
    void batchedProducts() throws Exception {
        ModelDef bmm = einsum("bij,bjk->bik", new Object[]{"N", 3, 4}, new Object[]{"N", 4, 5});
        assertEquals(Shape.of(2, 3, 5), outShape(bmm, 2));
        assertEquals(1, count(bmm, "MatMul"));
        assertEquals(0, count(bmm, "Transpose"));
        assertFalse(transB(bmm));
        ModelDef qk = einsum("bhqd,bhkd->bhqk", new Object[]{"N", 2, 6, 8}, new Object[]{"N", 2, 7, 8});
        assertEquals(Shape.of(3, 2, 6, 7), outShape(qk, 3));
        assertTrue(transB(qk), "k read transposed, no copy");
        assertEquals(0, count(qk, "Transpose"));
        // operands and result in another order: transposes around one MatMul
        ModelDef perm = einsum("bqhd,bkhd->bhqk", new Object[]{"N", 6, 2, 8}, new Object[]{"N", 7, 2, 8});
        assertEquals(Shape.of(4, 2, 6, 7), outShape(perm, 4));
        assertEquals(1, count(perm, "MatMul"));
        assertEquals(2, count(perm, "Transpose"));
        ModelDef out = einsum("bij,bjk->bki", new Object[]{"N", 3, 4}, new Object[]{"N", 4, 5});
        assertEquals(Shape.of(2, 5, 3), outShape(out, 2));
    }

    @Test
    void permutation() throws Exception {
        ModelDef m = einsum("nchw->nhwc", new Object[]{"N", 3, 4, 5}, null);
        assertEquals(Shape.of(2, 4, 5, 3), outShape(m, 2));
        assertEquals(1, count(m, "Transpose"));
    }

    @Test
    void sumsAreUnsupportedInWords() {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> einsum("bij,bjk->bi",
                new Object[]{"N", 3, 4}, new Object[]{"N", 4, 5}));
        assertTrue(e.getMessage().contains("Einsum (summed label)") && e.getMessage().contains("is summed"),
                e.getMessage());
    }

    @Test
    void tileIsAConcatOfCopies() throws Exception {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 3, 4);
        ModelDef m = g.output(g.node("Tile", List.of("x", g.ints(1, 2, 3)))).load(dir,
                OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(Shape.of(5, 6, 12), outShape(m, 5));
        assertEquals(2, count(m, "Concat"));
        assertTrue(OnnxRoundTripTest.peak(m, 5) > OnnxRoundTripTest.peak(m, 1));
    }

    @Test
    void dataDependentShapesAreSaidInWords() throws Exception {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4);
        String nz = g.node("NonZero", List.of("x"));
        String y = g.node("Relu", List.of("x"));
        g.output(y);
        g.output(nz);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> g.load(dir,
                OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE)));
        assertTrue(e.getMessage().contains("(NonZero): its output size depends on the tensor's values"),
                e.getMessage());
    }

    @Test
    void expandReadByAnOpThatDoesNotBroadcastIsMade() throws Exception {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 1, 8).input("z", FLOAT, "N", 3, 8);
        String e = g.node("Expand", List.of("x", g.ints(1, 3, 1)));                    // [N, 3, 8]
        ModelDef m = g.output(g.node("Concat", List.of(e, "z"), i("axis", 2))).load(dir,
                OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(Shape.of(2, 3, 16), outShape(m, 2));
        assertEquals(2, count(m, "Concat"), "the expanded copies, then the file's Concat");
        // read by a broadcasting op, Expand stays a view
        var h = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 1, 8).input("z", FLOAT, "N", 3, 8);
        String v = h.node("Expand", List.of("x", h.ints(1, 3, 1)));
        ModelDef m2 = h.output(h.node("Mul", List.of(v, "z"))).load(dir, OnnxOptions.defaults()
                .withLoss(OnnxOptions.Loss.MSE));
        assertEquals(0, count(m2, "Concat"));
        assertEquals(Shape.of(2, 3, 8), outShape(m2, 2));
    }

    @Test
    void expandThatDoesNotBroadcastIsReportedOverN() {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 2, 8);
        String n = g.node("Unsqueeze", List.of(g.node("Gather", List.of(g.node("Shape", List.of("x")), g.intScalar(0)),
                i("axis", 0)), g.ints(0)));
        String e = g.node("Expand", List.of("x", g.node("Concat", List.of(n, g.ints(3), g.ints(8)), i("axis", 0))));
        ModelFormatException ex = assertThrows(ModelFormatException.class, () -> g.output(g.node("Concat",
                List.of(e, "x"), i("axis", 1))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE)));
        String msg = ex.getMessage().substring(ex.getMessage().indexOf("at node"));
        assertTrue(msg.contains("(Expand)") && msg.contains("[N, 2, 8] and [N, 3, 8] do not broadcast"), msg);
    }

    @Test
    void whereOfTwoTensorsKeepsEachWhereChosen() throws Exception {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 3, 4).input("y", FLOAT, "N", 1, 4)
                .input("m", memplan.onnx.proto.Onnx.TensorProto.DataType.BOOL_VALUE, "N", 3, 1);
        ModelDef m = g.output(g.node("Where", List.of("m", "x", "y"))).load(dir,
                OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(Shape.of(2, 3, 4), outShape(m, 2));
        assertEquals(2, count(m, "MaskedFill"));
        assertEquals(1, count(m, "Add"));
        assertEquals(0, count(m, "Opaque"));
    }

    /** F.dropout(x, 0.0, True) returns x itself in PyTorch 1.13 (no mask, no copy, no grad_fn). */
    @Test
    void dropoutWithRatioZeroIsTheInput() throws Exception {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 8);
        String d = g.node("Dropout", List.of("x", g.scalar(0f), g.node("Constant", List.of(),
                memplan.onnx.proto.Onnx.AttributeProto.newBuilder().setName("value_int")
                        .setType(memplan.onnx.proto.Onnx.AttributeProto.AttributeType.INT).setI(1).build())));
        ModelDef m = g.output(g.node("Relu", List.of(d))).load(dir, OnnxOptions.defaults()
                .withLoss(OnnxOptions.Loss.MSE));
        assertEquals(0, count(m, "Dropout"));
        var h = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 8);
        ModelDef m2 = h.output(h.node("Relu", List.of(h.node("Dropout", List.of("x", h.scalar(0.1f)))))).load(dir,
                OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(1, count(m2, "Dropout"));
    }
}

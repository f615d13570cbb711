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
        assertTrue(e.getMessage().contains("(NonZero): its output shape depends on the values of its input"),
                e.getMessage());
    }
}

package memplan.onnx;

import memplan.io.ModelFormatException;
import memplan.ir.Shape;
import memplan.model.ModelDef;
import memplan.ops.Dropout;
import memplan.ops.Pad;
import memplan.ops.Slice;
import memplan.ops.Upsample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The forms older exporters write (paddle2onnx writes opset 9): Slice, Upsample, Pad and Resize with their arguments
 * as attributes or early inputs, and optional inputs left out by giving an empty name.
 */
class OnnxOpsetFormsTest {
    @TempDir
    Path dir;

    private static final OnnxOptions MSE = OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE);

    private static void shapeAt(ModelDef m, int... dimsAfterBatch) {
        for (int batch : new int[]{2, 5}) {
            int[] d = new int[dimsAfterBatch.length + 1];
            d[0] = batch;
            System.arraycopy(dimsAfterBatch, 0, d, 1, dimsAfterBatch.length);
            assertEquals(Shape.of(d), outShape(m, batch), "output shape at batch " + batch);
        }
    }

    @Test
    void sliceWithAttributesBeforeOpset10() throws Exception {
        var b = new OnnxGraphBuilder(9).input("x", FLOAT, "N", 10, 16);
        String y = b.node("Slice", List.of("x"), is("starts", 2, 0), is("ends", 7, 100), is("axes", 1, 2));
        ModelDef m = b.output(y).load(dir, MSE);
        shapeAt(m, 5, 16);
        assertEquals(new Slice(1, 2, 7), m.layers().get(1).op());
        // without axes the first ones are meant
        var c = new OnnxGraphBuilder(9).input("x", FLOAT, "N", 10, 16);
        String all = c.node("Slice", List.of("x"), is("starts", 0, 3), is("ends", 1000, -1));
        shapeAt(c.output(all).load(dir, MSE), 6, 16);
    }

    /** Paddle's x.reshape([x.shape[0], -1]): an opset-9 Slice of Shape(x), folded batch-independently. */
    @Test
    void sliceOfAFoldedShapeBeforeOpset10() throws Exception {
        var b = new OnnxGraphBuilder(9).input("x", FLOAT, "N", 4, 3, 2);
        String sh = b.node("Shape", List.of("x"));
        String n = b.node("Slice", List.of(sh), is("starts", 0), is("ends", 1), is("axes", 0));
        String cat = b.node("Concat", List.of(n, b.ints(-1)), i("axis", 0));
        ModelDef m = b.output(b.node("Reshape", List.of("x", cat))).load(dir);
        shapeAt(m, 24);
        assertEquals(1, count(m, "Reshape"));
        var bad = new OnnxGraphBuilder(9).input("x", FLOAT, "N", 4, 3, 2);
        String s2 = bad.node("Shape", List.of("x"));
        String cut = bad.node("Slice", List.of(s2), is("starts", 0));
        var e = assertThrows(ModelFormatException.class,
                () -> bad.output(bad.node("Reshape", List.of("x", cut))).load(dir));
        assertEquals("node 'slice_1_node' (Slice)", e.location());
        assertEquals("attribute 'ends' is missing", e.reason());
    }

    @Test
    void upsampleScalesAsAttributeAsInputAndAsHeightAndWidth() throws Exception {
        var a = new OnnxGraphBuilder(7).input("x", FLOAT, "N", 4, 5, 6);
        shapeAt(a.output(a.node("Upsample", List.of("x"), fs("scales", 1, 1, 2, 2), s("mode", "nearest")))
                .load(dir), 4, 10, 12);
        var b = new OnnxGraphBuilder(9).input("x", FLOAT, "N", 4, 5, 6);
        String y = b.node("Upsample", List.of("x", b.floats(new float[]{1, 1, 3, 3}, 4)));
        ModelDef m = b.output(y).load(dir);
        shapeAt(m, 4, 15, 18);
        assertEquals(new Upsample(3), m.layers().get(1).op());
        var c = new OnnxGraphBuilder(1).input("x", FLOAT, "N", 4, 5, 6);
        shapeAt(c.output(c.node("Upsample", List.of("x"), f("height_scale", 2), f("width_scale", 2))).load(dir),
                4, 10, 12);
    }

    @Test
    void resizeAtOpset10TakesScalesAsItsSecondInput() throws Exception {
        var b = new OnnxGraphBuilder(10).input("x", FLOAT, "N", 4, 5, 6);
        String y = b.node("Resize", List.of("x", b.floats(new float[]{1, 1, 2, 2}, 4)), s("mode", "linear"));
        shapeAt(b.output(y).load(dir), 4, 10, 12);
    }

    @Test
    void padWithAttributesBeforeOpset11() throws Exception {
        var b = new OnnxGraphBuilder(10).input("x", FLOAT, "N", 4, 5, 6);
        String y = b.node("Pad", List.of("x"), is("pads", 0, 0, 1, 2, 0, 0, 1, 2), s("mode", "edge"), f("value", 0));
        ModelDef m = b.output(y).load(dir);
        shapeAt(m, 4, 7, 10);
        assertEquals(new Pad(List.of(0, 0, 1, 2, 0, 0, 1, 2), "edge"), m.layers().get(1).op());
        var c = new OnnxGraphBuilder(1).input("x", FLOAT, "N", 4, 5, 6);
        shapeAt(c.output(c.node("Pad", List.of("x"), is("paddings", 0, 0, 0, 1, 0, 0, 0, 1))).load(dir), 4, 5, 8);
    }

    @Test
    void optionalInputsGivenAsEmptyNames() throws Exception {
        var conv = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 3, 8, 8);
        String y = conv.node("Conv", List.of("x", conv.weight("w", 4, 3, 3, 3), ""), is("pads", 1, 1, 1, 1));
        ModelDef mc = conv.output(y).load(dir);
        shapeAt(mc, 4, 8, 8);
        assertEquals(4 * 27, at(mc, 2).parameterCount());

        var gemm = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 16);
        ModelDef mg = gemm.output(gemm.node("Gemm", List.of("x", gemm.weight("w", 10, 16), ""), i("transB", 1)))
                .load(dir);
        shapeAt(mg, 10);
        assertEquals(160, at(mg, 2).parameterCount());

        var slice = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 10, 16);
        String sl = slice.node("Slice", List.of("x", slice.ints(0, 1), slice.ints(Long.MAX_VALUE, 9), "",
                slice.ints(1, 1)));
        shapeAt(slice.output(sl).load(dir, MSE), 8, 16);

        var pad = new OnnxGraphBuilder(18).input("x", FLOAT, "N", 4, 5, 6);
        String p = pad.node("Pad", List.of("x", pad.ints(1, 1), "", pad.ints(3)));
        shapeAt(pad.output(p).load(dir), 4, 5, 8);

        var drop = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 8);
        ModelDef md = drop.output(drop.node("Dropout", List.of("x", ""))).load(dir, MSE);
        assertEquals(new Dropout(0.5), md.layers().get(1).op());

        var ln = new OnnxGraphBuilder(17).input("x", FLOAT, "N", 5, 8);
        String l = ln.node("LayerNormalization", List.of("x", ln.weight("g", 8), ""), i("axis", -1));
        shapeAt(ln.output(l).load(dir, MSE), 5, 8);

        var resize = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4, 5, 6);
        String r = resize.node("Resize", List.of("x", "", "", resize.ints(1, 4, 10, 12)));
        shapeAt(resize.output(r).load(dir), 4, 10, 12);
    }
}

package memplan.onnx;

import memplan.io.ModelFormatException;
import memplan.model.ModelDef;
import memplan.ir.Shape;
import memplan.ops.Input;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static org.junit.jupiter.api.Assertions.*;

/** Inputs, symbols, the batch, and graph-level details: IR 3 initializer inputs, other domains, opaque outputs. */
class OnnxInputsTest {
    @TempDir
    Path dir;

    @Test
    void unnamedDynamicBatchAndInitializersListedAsInputs() throws Exception {
        var b = new OnnxGraphBuilder(11).input("x", FLOAT, null, 16);
        String w = b.weight("w", 10, 16);
        b.g.addInput(info("w", FLOAT, 10, 16)); // IR < 4 style
        ModelDef m = b.output(b.node("Gemm", List.of("x", w), i("transB", 1))).load(dir);
        assertEquals(1, m.layers().stream().filter(l -> l.op() instanceof Input in && in.dtype() == null).count());
        assertEquals(Shape.of(7, 10), outShape(m, 7));
    }

    @Test
    void batchSymbolOption() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, 3, "bs", 16);
        ModelDef m = b.output(b.node("Relu", List.of("x"))).load(dir, OnnxOptions.defaults().withBatchSymbol("bs"));
        assertEquals(Shape.of(3, 5, 16), outShape(m, 5));
    }

    @Test
    void symbolSharedBetweenInputs() throws Exception {
        var b = new OnnxGraphBuilder(13).input("ids", INT64, "batch", "seq").input("mask", INT64, "batch", "seq");
        String e = b.node("Gather", List.of(b.weight("t", 50, 8), "ids"));
        String m = b.node("Cast", List.of("mask"), i("to", FLOAT));
        String mu = b.node("Unsqueeze", List.of(m, b.ints(-1)));
        String y = b.node("Mul", List.of(e, mu));
        ModelDef md = b.output(y).load(dir, OnnxOptions.defaults().withInputShape("ids", 1, 12).withLoss(OnnxOptions.Loss.MSE));
        assertEquals(Shape.of(2, 12, 8), outShape(md, 2));
        assertEquals(1, count(md, "Mul"));
    }

    @Test
    void shapeWithStartAndEnd() throws Exception {
        var b = new OnnxGraphBuilder(15).input("x", FLOAT, "N", 4, 6, 2);
        String sh = b.node("Shape", List.of("x"), i("start", 1), i("end", 2));
        String cat = b.node("Concat", List.of(b.ints(0), sh, b.ints(-1)), i("axis", 0));
        ModelDef m = b.output(b.node("Reshape", List.of("x", cat))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(Shape.of(3, 4, 12), outShape(m, 3));
    }

    @Test
    void otherDomainsAndUnsupportedUsesAreListed() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4, 6, 6, 6);
        String c = b.node("Resize", List.of("x", "", b.floats(new float[]{1, 1, 2, 2, 2}, 5)),
                s("coordinate_transformation_mode", "tf_crop_and_resize"));
        memplan.onnx.proto.Onnx.NodeProto.Builder ms = memplan.onnx.proto.Onnx.NodeProto.newBuilder().setOpType("FusedThing")
                .setDomain("com.microsoft").setName("fused").addInput(c).addOutput("f");
        b.g.addNode(ms);
        Path f = b.output("f").write(dir);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxImporter.read(f, OnnxOptions.defaults()));
        assertTrue(e.reason().contains("Resize (tf_crop_and_resize) x1"), e.reason());
        assertTrue(e.reason().contains("com.microsoft.FusedThing x1"), e.reason());
    }

    @Test
    void opaqueWithSeveralOutputs() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 8);
        b.nodeOut("SplitToPairs", List.of("x", b.ints(3)), List.of("vals", "idx")); // an operator MemPlan lacks
        String y = b.node("Add", List.of("vals", "x"));
        ModelDef m = b.output(y).load(dir, OnnxOptions.defaults().withOpaqueUnsupported(true).withLoss(OnnxOptions.Loss.MSE));
        assertEquals(Shape.of(4, 8), outShape(m, 4));
        assertTrue(m.description().contains("SplitToPairs"), m.description());
    }

    @Test
    void squeezeWithoutAxesKeepsTheBatch() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 1, 6, 1);
        ModelDef m = b.output(b.node("Squeeze", List.of("x"))).load(dir);
        assertEquals(Shape.of(1, 6), outShape(m, 1));
        assertEquals(Shape.of(4, 6), outShape(m, 4));
    }

    @Test
    void lmLogitsFlattenedToBatchTimesSequence() throws Exception {
        var b = new OnnxGraphBuilder(13).input("h", FLOAT, "N", 7, 16);
        String logits = b.node("MatMul", List.of("h", b.weight("w", 16, 50)));
        String flat = b.node("Reshape", List.of(logits, b.ints(-1, 50)));
        ModelDef m = b.output(flat).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.CE));
        assertEquals(Shape.of(21, 50), outShape(m, 3));
        memplan.profile.MemoryProfile.of(memplan.train.TrainingGraph.derive(at(m, 3), memplan.train.Optimizer.SGD));
    }
}

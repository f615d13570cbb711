package memplan.onnx;

import memplan.graph.Graph;
import memplan.io.ModelFormatException;
import memplan.io.ModelJson;
import memplan.ir.Shape;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Embedding;
import memplan.ops.Fill;
import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.onnx.proto.Onnx.TensorProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static memplan.onnx.proto.Onnx.TensorProto.DataType.FLOAT_VALUE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Constants whose shape follows the batch (Shape -> Gather -> Unsqueeze -> Concat -> ConstantOfShape / Expand) become
 * Fill ops sized per batch; what cannot be sized is reported in words, with shapes written over N.
 */
class OnnxSymbolicShapeTest {
    private static final int FLOAT = FLOAT_VALUE;
    @TempDir
    Path dir;

    /** [N] of x as a 1-D tensor: Shape -> Gather(0) -> Unsqueeze, as PyTorch writes x.size(0). */
    private static String batchOf(OnnxGraphBuilder b, String x) {
        String n = b.node("Gather", List.of(b.node("Shape", List.of(x)), b.intScalar(0)), i("axis", 0));
        return b.node("Unsqueeze", List.of(n, b.ints(0)));
    }

    private static List<Fill> fills(ModelDef m) {
        return m.layers().stream().map(Layer::op).filter(o -> o instanceof Fill).map(o -> (Fill) o).toList();
    }

    @Test
    void zeroStateSizedByTheBatchIsAFill() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "batch", 7, 8);
        String shape = b.node("Concat", List.of(b.ints(1), batchOf(b, "x"), b.ints(12)), i("axis", 0));
        String h0 = b.node("ConstantOfShape", List.of(shape));
        String h = b.node("Transpose", List.of(h0), is("perm", 1, 0, 2));                  // [N, 1, 12]
        String y = b.node("MatMul", List.of("x", b.weight("w", 8, 12)));                     // [N, 7, 12]
        String r = b.node("ReduceMean", List.of(y), is("axes", 1), i("keepdims", 1));      // [N, 1, 12]
        ModelDef m = b.output(b.node("Add", List.of(r, h))).load(dir, OnnxOptions.defaults()
                .withLoss(OnnxOptions.Loss.MSE));
        assertEquals(List.of(new Fill(List.of("1", "N", "12"), 0, null)), fills(m));
        for (int batch : new int[]{1, 3, 40}) {
            assertEquals(Shape.of(batch, 1, 12), outShape(m, batch));
            assertEquals(96, at(m, batch).parameterCount());
        }
        ModelDef back = ModelJson.parse(ModelJson.write(m), "m.json");
        assertEquals(fills(m), fills(back));
        // exported again (ConstantOfShape of a shape read from x) and imported: the same model
        Path f = dir.resolve("again.onnx");
        OnnxExporter.write(m, 13, f, false);
        ModelDef again = OnnxImporter.read(f, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(fills(m), fills(again));
        assertEquals(OnnxRoundTripTest.peak(m, 6), OnnxRoundTripTest.peak(again, 6));
    }

    @Test
    void classTokenExpandedToTheBatchKeepsItsParameter() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "batch", 4, 8);
        String cls = b.weight("class_token", 1, 1, 8);
        // torch's expand(n, -1, -1): -1 entries replaced by ones through Where(Equal(shape, -1), ...)
        String shape = b.node("Concat", List.of(batchOf(b, "x"), b.ints(-1), b.ints(-1)), i("axis", 0));
        String isNeg = b.node("Equal", List.of(shape, b.intScalar(-1)));
        String ones = b.node("ConstantOfShape", List.of(b.node("Shape", List.of(shape))), AttributeProto.newBuilder()
                .setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(TensorProto.newBuilder()
                        .setDataType(TensorProto.DataType.INT64_VALUE).addDims(1).addInt64Data(1)).build());
        String target = b.node("Where", List.of(isNeg, ones, shape));
        String tok = b.node("Expand", List.of(cls, target));                                  // [N, 1, 8]
        String y = b.node("Concat", List.of(tok, "x"), i("axis", 1));                       // [N, 5, 8]
        ModelDef m = b.output(y).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(List.of(new Fill(List.of("N", "1", "8"), 0, null)), fills(m));
        for (int batch : new int[]{1, 7}) {
            assertEquals(Shape.of(batch, 5, 8), outShape(m, batch));
            Graph g = at(m, batch);
            assertEquals(8, g.parameterCount(), "the class token, once");
        }
    }

    @Test
    void learnedTableGatheredWithRepeatedIndicesIsAnEmbedding() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "batch", 2, 4, 4);
        String table = b.weight("bias_table", 9, 2);
        String idx = b.ints(0, 1, 1, 2, 0, 3, 8, 8, 4, 5, 6, 7, 0, 0, 1, 2);              // 16 rows of 9
        String bias = b.node("Gather", List.of(table, idx), i("axis", 0));                  // [16, 2]
        String t = b.node("Transpose", List.of(b.node("Reshape", List.of(bias, b.ints(4, 4, 2)))), is("perm", 2, 0, 1));
        ModelDef m = b.output(b.node("Add", List.of("x", t))).load(dir, OnnxOptions.defaults()
                .withLoss(OnnxOptions.Loss.MSE));
        assertEquals(18, at(m, 3).parameterCount(), "the table's 9 x 2, as PyTorch counts it");
        assertEquals(1, m.layers().stream().filter(l -> l.op() instanceof Embedding).count());
        assertEquals(Shape.of(3, 2, 4, 4), outShape(m, 3));
    }

    @Test
    void aConstantThatCannotBeSizedIsReportedOverN() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "batch", 3);
        String n2 = b.node("Mul", List.of(batchOf(b, "x"), b.ints(2)));
        String c = b.node("ConstantOfShape", List.of(n2));                                     // [2N]
        String y = b.node("Add", List.of(b.node("Reshape", List.of("x", b.ints(-1))), c));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> b.output(y).load(dir,
                OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE)));
        String msg = e.getMessage().substring(e.getMessage().indexOf("at node"));
        assertTrue(msg.contains("(ConstantOfShape)") && msg.contains("[2*N]") && msg.contains("depends on the batch"),
                msg);
        for (int lane : Converter.LANE_BATCH)
            assertFalse(msg.contains(Integer.toString(lane)) || msg.contains(Integer.toString(2 * lane)), msg);
    }

    @Test
    void batchDimensionsInWords() {
        assertEquals("[N, 197, 768]", BatchDims.describe(new int[]{24, 197, 768}, new int[]{36, 197, 768}));
        assertEquals("[3*N, N+1, 5]", BatchDims.describe(new int[]{72, 25, 5}, new int[]{108, 37, 5}));
        assertEquals(List.of("2", "N"), BatchDims.modelDims(new int[]{2, 24}, new int[]{2, 36}));
        assertNull(BatchDims.modelDims(new int[]{48}, new int[]{72}));
    }
}

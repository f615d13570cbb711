package memplan.onnx;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.io.ModelFormatException;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.model.ModelDef;
import memplan.ops.Compare;
import memplan.ops.ConstElementwise;
import memplan.ops.CumSum;
import memplan.ops.Opaque;
import memplan.ops.TopK;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static memplan.onnx.proto.Onnx.TensorProto.DataType.FLOAT_VALUE;
import static memplan.onnx.proto.Onnx.TensorProto.DataType.INT64_VALUE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * CumSum, TopK, Mod and comparisons with a constant table on computed tensors, and operators whose output size
 * depends on the data: one line naming the node without --opaque, an Opaque op at the upper bound with it.
 */
class OnnxValueSizedTest {
    private static final int FLOAT = FLOAT_VALUE;
    private static final OnnxOptions MSE = OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE);
    @TempDir
    Path dir;

    private static Node only(Graph g, Class<?> type) {
        List<Node> ns = g.nodes().stream().filter(n -> type.isInstance(n.op())).toList();
        assertEquals(1, ns.size(), type.getSimpleName());
        return ns.get(0);
    }

    @Test
    void cumSumTopKModAndATableComparisonOnComputedTensors() throws Exception {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 3, 8);
        String r = g.node("Relu", List.of("x"));
        String cs = g.node("CumSum", List.of(r, g.intScalar(-1)), i("exclusive", 1), i("reverse", 1));
        g.nodeOut("TopK", List.of(cs, g.ints(4)), List.of("vals", "idx"), i("axis", 2), i("largest", 0));
        String md = g.node("Mod", List.of("vals", g.scalar(0.75f)), i("fmod", 1));
        String lt = g.node("Less", List.of(md, g.floats(new float[]{0.1f, 0.2f, 0.3f}, 3, 1)));
        String cast = g.node("Cast", List.of(lt), i("to", FLOAT));
        ModelDef m = g.output(g.node("Add", List.of(md, cast))).load(dir, MSE);
        assertEquals(0, count(m, "Opaque"));
        assertEquals(1, count(m, "CumSum"));
        assertEquals(1, count(m, "TopK"));
        Graph at3 = at(m, 3);
        CumSum c = (CumSum) only(at3, CumSum.class).op();
        assertEquals(new CumSum(2, true, true), c);
        Node top = only(at3, TopK.class);
        assertEquals(new TopK(2, 4, false, true), top.op());
        assertEquals(List.of(Shape.of(3, 3, 4), Shape.of(3, 3, 4)), top.outShapes());
        assertEquals(DType.INT64, at3.value(top.outputs()[1]).dtype());
        ConstElementwise mod = (ConstElementwise) m.layers().stream().filter(l -> l.op() instanceof ConstElementwise)
                .findFirst().orElseThrow().op();
        assertEquals(ConstElementwise.scalar("fmod", 0.75, false), mod);
        Compare cmp = (Compare) m.layers().stream().filter(l -> l.op() instanceof Compare).findFirst().orElseThrow()
                .op();
        assertEquals(new Compare(Compare.Relation.LESS, null, List.of(3, 1)), cmp);
        assertEquals(Shape.of(5, 3, 4), outShape(m, 5));
        // written back to ONNX and read again: the same ops
        Path f = dir.resolve("again.onnx");
        OnnxExporter.write(m, 13, f, false);
        ModelDef again = OnnxImporter.read(f, MSE);
        for (String t : List.of("CumSum", "TopK", "Compare", "ConstElementwise"))
            assertEquals(count(m, t), count(again, t), t);
        assertEquals(OnnxRoundTripTest.peak(m, 4), OnnxRoundTripTest.peak(again, 4));
    }

    @Test
    void whereOfTwoConstantsOnAComputedCondition() throws Exception {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4);
        String c = g.node("Greater", List.of("x", g.scalar(0f)));
        String w = g.node("Where", List.of(c, g.scalar(1f), g.scalar(-2f)));
        ModelDef m = g.output(g.node("Mul", List.of("x", w))).load(dir, MSE);
        assertEquals(0, count(m, "Opaque"));
        assertEquals(ConstElementwise.scalar("mul", 3, false), m.layers().stream()
                .filter(l -> l.op() instanceof ConstElementwise).findFirst().orElseThrow().op(), "(1 - (-2)) c");
        assertEquals(Shape.of(3, 4), outShape(m, 3));
        var t = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4);
        String ct = t.node("Less", List.of("x", t.scalar(0f)));
        String wt = t.node("Where", List.of(ct, t.floats(new float[]{1, 2, 3, 4}, 4), t.scalar(0f)));
        ModelDef mt = t.output(t.node("Add", List.of("x", wt))).load(dir, MSE);
        assertEquals(0, at(mt, 2).parameterCount(), "the constants are buffers, not trained");
        assertEquals(Shape.of(2, 4), outShape(mt, 2));
    }

    @Test
    void scatterNdOfComputedTensors() throws Exception {
        var g = new OnnxGraphBuilder(16).input("x", FLOAT, "N", 4, 3);
        String h = g.node("Relu", List.of(g.node("MatMul", List.of("x", g.weight("w", 3, 3)))));
        String d = g.node("Transpose", List.of(h), is("perm", 1, 0, 2));                         // [4, N, 3]
        String upd = g.node("Slice", List.of(d, g.ints(0), g.ints(2), g.ints(0)));                  // [2, N, 3]
        var idx = memplan.onnx.proto.Onnx.TensorProto.newBuilder().setName("rows").setDataType(INT64_VALUE)
                .addDims(2).addDims(1).addInt64Data(3).addInt64Data(1);
        String sc = g.node("ScatterND", List.of(d, g.init(idx.build()), upd), s("reduction", "add"));
        ModelDef m = g.output(sc).load(dir, MSE);
        assertEquals(1, count(m, "ScatterND"));
        assertEquals(0, count(m, "Opaque"));
        assertEquals(Shape.of(4, 3, 3), outShape(m, 3));
        var sched = memplan.train.TrainingGraph.derive(at(m, 3), memplan.train.Optimizer.SGD);
        var base = OnnxCpuTrainingTest.run(memplan.plan.Plan.baseline(sched));
        var rec = OnnxCpuTrainingTest.everywhere(sched, t -> memplan.plan.Decision.RECOMPUTE);
        assertEquals(base.weightsSha256(), OnnxCpuTrainingTest.run(rec).weightsSha256(), "under recompute");
        var bad = new OnnxGraphBuilder(16).input("x", FLOAT, "N", 4);
        String r = bad.node("Relu", List.of("x"));
        bad.output(bad.node("ScatterND", List.of(r, bad.ints(0), bad.node("Relu", List.of(r))),
                s("reduction", "mul")));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> bad.load(dir, MSE));
        assertTrue(e.getMessage().contains("ScatterND (reduction mul)"), e.getMessage());
    }

    @Test
    void scatterNdIndicesOutsideTheDataAreNamed() {
        var g = new OnnxGraphBuilder(16).input("x", FLOAT, "N", 4, 3);
        String d = g.node("Transpose", List.of(g.node("Relu", List.of("x"))), is("perm", 1, 0, 2)); // [4, N, 3]
        String upd = g.node("Slice", List.of(d, g.ints(0), g.ints(1), g.ints(0)));                  // [1, N, 3]
        var idx = memplan.onnx.proto.Onnx.TensorProto.newBuilder().setName("rows").setDataType(INT64_VALUE)
                .addDims(1).addDims(1).addInt64Data(4);
        g.output(g.node("ScatterND", List.of(d, g.init(idx.build()), upd)));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> g.load(dir, MSE));
        assertTrue(e.getMessage().contains("(ScatterND): index tuple 0 has 4 for axis 0, outside the data's size 4"),
                e.getMessage());
    }

    @Test
    void modOfTwoTensorsIsUnsupportedInWords() {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4).input("y", FLOAT, "N", 4);
        g.output(g.node("Mod", List.of("x", "y"), i("fmod", 1)));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> g.load(dir, MSE));
        assertTrue(e.getMessage().contains("Mod (two tensors)"), e.getMessage());
    }

    private static void inWords(ModelFormatException e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), e.getMessage());
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @Test
    void nonZeroIsSizedAtItsUpperBoundWithOpaque() throws Exception {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4, 5);
        String nz = g.node("NonZero", List.of("x"));
        g.output(g.node("Relu", List.of("x")));
        g.output(nz);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> g.load(dir, MSE));
        inWords(e, "node '" + nz + "_node' (NonZero)", "its output size depends on the tensor's values",
                "upper bound");
        ModelDef m = g.load(dir, MSE.withOpaqueUnsupported(true));
        Graph at3 = at(m, 3);
        Node op = only(at3, Opaque.class);
        assertEquals(Opaque.Bound.NONZERO, ((Opaque) op.op()).bound());
        assertEquals(Shape.of(3, 60), op.outShapes().get(0), "[rank, numel]");
        assertEquals(DType.INT64, at3.value(op.outputs()[0]).dtype());
        assertEquals(Shape.of(3, 120), at(m, 6).node(op.name()).outShapes().get(0), "follows the batch");
        assertEquals(m, memplan.io.ModelJson.parse(memplan.io.ModelJson.write(m), "m.json").withSource(m.source()));
    }

    @Test
    void nonMaxSuppressionIsSizedAtItsUpperBoundWithOpaque() throws Exception {
        var g = new OnnxGraphBuilder(11).input("x", FLOAT, "N", 10, 4);
        String boxes = g.node("Sigmoid", List.of("x"));                             // [N, 10, 4]
        String scores = g.node("Transpose", List.of(g.node("Relu", List.of("x"))), is("perm", 0, 2, 1)); // [N, 4, 10]
        String sel = g.node("NonMaxSuppression", List.of(boxes, scores, g.ints(6), g.floats(new float[]{0.5f}, 1)));
        g.output(g.node("Tanh", List.of("x")));
        g.output(sel);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> g.load(dir, MSE));
        inWords(e, "(NonMaxSuppression)", "its output size depends on the tensor's values");
        ModelDef m = g.load(dir, MSE.withOpaqueUnsupported(true));
        Node op = only(at(m, 2), Opaque.class);
        assertEquals(new Opaque("onnx:NonMaxSuppression", 2, 1, Opaque.Bound.NMS, 6), op.op());
        assertEquals(Shape.of(2 * 4 * 6, 3), op.outShapes().get(0), "batch x classes x min(limit, boxes)");
        assertEquals(Shape.of(5 * 4 * 6, 3), at(m, 5).node(op.name()).outShapes().get(0));
    }

    @Test
    void shapesComputedFromValuesAreSaidInWords() {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4);
        String n = g.node("Cast", List.of(g.node("ReduceMean", List.of("x"), is("axes", 0, 1), i("keepdims", 0))),
                i("to", INT64_VALUE));
        String range = g.node("Range", List.of(g.intScalar(0), n, g.intScalar(1)));
        g.output(g.node("Relu", List.of("x")));
        g.output(range);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> g.load(dir, MSE));
        inWords(e, "node '" + range + "_node' (Range)", "input 1", "computed from the data",
                "its output size depends on the tensor's values");
        var r = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4);
        String shape = r.node("Cast", List.of(r.node("Relu", List.of("x"))), i("to", INT64_VALUE));
        r.output(r.node("Reshape", List.of("x", r.node("Slice", List.of(shape, r.ints(0), r.ints(2), r.ints(1))))));
        ModelFormatException e2 = assertThrows(ModelFormatException.class, () -> r.load(dir, MSE));
        inWords(e2, "(Reshape)", "its output size depends on the tensor's values");
    }
}

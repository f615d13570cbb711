package memplan.graph;

import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ir.Shape;
import memplan.ops.BatchNorm2d;
import memplan.ops.Conv2d;
import memplan.ops.Input;
import memplan.ops.LSTMCell;
import memplan.ops.Linear;
import memplan.ops.MaxPool2d;
import memplan.ops.Pair;
import memplan.ops.ReLU;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Instantiation of a model at a batch size: order, shapes, dtypes, kinds, symbols. */
class GraphTest {
    @Test
    void topologicalOrderKeepsFileOrderWhereItCan() {
        // "b" reads "c", which comes later in the file; "d" does not depend on "c".
        ModelDef m = ModelDef.builder("order").build().withLayers(List.of(
                Layer.of("x", new Input(List.of("N", "4"), null)),
                Layer.of("b", new ReLU(), "c"),
                Layer.of("c", new Linear(4, true), "x"),
                Layer.of("d", new ReLU(), "x")));
        Graph g = Graph.instantiate(m, 2, DType.FP32);
        assertEquals(List.of("x", "c", "b", "d"), g.nodes().stream().map(Node::name).toList());
        for (int i = 0; i < g.nodes().size(); i++) assertEquals(i, g.nodes().get(i).index());
    }

    @Test
    void valuesHaveShapesDtypesAndKinds() {
        ModelDef.Builder b = ModelDef.builder("cnn");
        String x = b.add("x", new Input(List.of("N", "3", "8", "8"), null));
        String c = b.add("conv", Conv2d.of(4, 3, 1, 1, false), x);
        String bn = b.add("bn", new BatchNorm2d(1e-5, 0.1), c);
        b.add("pool", new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), bn);
        Graph g = Graph.instantiate(b.build(), 5, DType.FP16);
        assertEquals(5, g.batch());
        assertEquals(DType.FP16, g.floatType());
        Map<String, Value> v = new java.util.HashMap<>();
        for (Value val : g.values()) v.put(val.name(), val);
        assertEquals(ValueKind.DATA, v.get("x").kind());
        assertEquals(Shape.of(5, 3, 8, 8), v.get("x").shape());
        assertEquals(DType.FP16, v.get("x").dtype());
        assertEquals(ValueKind.PARAM, v.get("conv.weight").kind());
        assertEquals(Shape.of(4, 3, 3, 3), v.get("conv.weight").shape());
        assertEquals(ValueKind.BUFFER, v.get("bn.running_mean").kind());
        assertEquals(ValueKind.AUX, v.get("bn.invstd").kind());
        assertEquals(DType.FP32, v.get("bn.invstd").dtype(), "norm statistics stay fp32");
        assertEquals(DType.INT64, v.get("pool.indices").dtype());
        assertEquals(Shape.of(5, 4, 4, 4), v.get("pool").shape());
        assertEquals(5L * 4 * 4 * 4 * 8, v.get("pool.indices").bytes());
        assertEquals(g.node("conv").index(), v.get("conv").producer());
        assertEquals(-1, v.get("x").producer());
        // Trainable parameters only: conv weight 108 + bn weight and bias 8; running statistics are buffers.
        assertEquals(108 + 8, g.parameterCount());
        for (int i = 0; i < g.values().size(); i++) assertEquals(i, g.value(i).id(), "dense value ids");
    }

    @Test
    void multiOutputValuesAreNamedByIndex() {
        ModelDef.Builder b = ModelDef.builder("lstm");
        String x = b.add("x", new Input(List.of("N", "3"), null));
        String h = b.add("h", new Input(List.of("N", "5"), null));
        String c = b.add("c", new Input(List.of("N", "5"), null));
        b.add("cell", new LSTMCell(5), x, h, c);
        b.add("next", new LSTMCell(5), x, "cell:0", "cell:1");
        Graph g = Graph.instantiate(b.build(), 2, DType.FP32);
        Node cell = g.node("cell"), next = g.node("next");
        assertEquals(2, cell.outputs().length);
        assertEquals("cell:0", g.value(cell.outputs()[0]).name());
        assertEquals("cell:1", g.value(cell.outputs()[1]).name());
        assertEquals(cell.outputs()[0], next.inputs()[1]);
        assertEquals(cell.outputs()[1], next.inputs()[2]);
    }

    @Test
    void symbolsBatchAndOverrides() {
        ModelDef m = ModelDef.builder("seq").dim("T", 7).build().withLayers(List.of(Layer.of("x", new Input(List.of("N", "T", "2"), null))));
        assertEquals(Shape.of(3, 7, 2), Graph.instantiate(m, 3, DType.FP32).value(0).shape());
        Graph g = Graph.instantiate(m, 3, DType.FP32, Map.of("T", 11, "N", 99));
        assertEquals(Shape.of(3, 11, 2), g.value(0).shape(), "--dim wins over dims; N is always the batch");
        assertEquals(Map.of("T", 11, "N", 3), g.symbols());
        assertThrows(IllegalArgumentException.class, () -> Graph.instantiate(m, 0, DType.FP32));
        assertThrows(IllegalArgumentException.class, () -> Graph.instantiate(m, 2, DType.INT64));
    }
}

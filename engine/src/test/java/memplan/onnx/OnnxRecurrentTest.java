package memplan.onnx;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.model.ModelDef;
import memplan.ops.ConstElementwise;
import memplan.ops.Sigmoid;
import memplan.ops.Tanh;
import memplan.ops.Linear;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ONNX LSTM, GRU and RNN nodes written with the protobuf classes in the forms other exporters use: layout 1,
 * reverse and bidirectional directions, absent or zero initial states, sequence_lens. Parameter counts are the
 * element counts of W, R and B (each step of a direction shares them).
 */
class OnnxRecurrentTest {
    @TempDir
    Path dir;

    private static long count(Graph g, Class<?> op) {
        return g.nodes().stream().filter(n -> op.isInstance(n.op())).count();
    }

    @Test
    void lstmLayoutOneReverseWithoutInitialStatesAndWithSequenceLengths() throws Exception {
        int l = 4, in = 3, h = 5;
        var b = new OnnxGraphBuilder(14).input("x", FLOAT, "N", l, in).input("lens", 6 /* int32 */, "N");
        String w = b.weight("W", 1, 4 * h, in), r = b.weight("R", 1, 4 * h, h), bias = b.weight("B", 1, 8 * h);
        b.nodeOut("LSTM", List.of("x", w, r, bias, "lens"), List.of("Y", "Y_h"), i("hidden_size", h), i("layout", 1),
                s("direction", "reverse"));
        String flat = b.node("Flatten", List.of("Y"), i("axis", 1));
        ModelDef m = b.output(flat).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        Graph g = Graph.instantiate(m, 3, DType.FP32);
        // PyTorch's CPU layer: W x for the whole sequence at once, then R h per step
        assertEquals(l + 1, count(g, Linear.class), "one input product, one recurrent product per step");
        assertEquals(3L * l, count(g, Sigmoid.class), "i, o, f per step");
        assertEquals(2L * l, count(g, Tanh.class), "g and tanh(c') per step");
        assertEquals((long) (4 * h * in + 4 * h * h + 8 * h), g.parameterCount(), "W + R + B, shared by the steps");
        Node last = g.nodes().stream().filter(n -> n.op() instanceof Linear).reduce((a, c) -> c).orElseThrow();
        assertTrue(last.name().endsWith("t0/hh"), "reverse: the last step is step 0, got " + last.name());
        Node first = g.nodes().stream().filter(n -> n.op() instanceof Linear).findFirst().orElseThrow();
        assertEquals(Shape.of(3, l, 4 * h), first.outShapes().get(0), "the input product over [N, L, I]");
        // Y is [N, L, 1, H] in layout 1, flattened for the loss
        for (Node n : g.nodes())
            if (n.name().equals(flat)) assertEquals(Shape.of(3, l * h), n.outShapes().get(0));
    }

    /** One tensor given as both h0 and c0 (an export's one ConstantOfShape): c0 is a copy, as PyTorch has two. */
    @Test
    void lstmWithOneTensorAsBothInitialStatesGetsACopyOfItForC() throws Exception {
        int l = 2, in = 3, h = 4;
        var b = new OnnxGraphBuilder(14).input("x", FLOAT, l, "N", in).input("s", FLOAT, 1, "N", h);
        String w = b.weight("W", 1, 4 * h, in), r = b.weight("R", 1, 4 * h, h), bias = b.weight("B", 1, 8 * h);
        b.nodeOut("LSTM", List.of("x", w, r, bias, "", "s", "s"), List.of("", "Y_h"), i("hidden_size", h));
        String flat = b.node("Flatten", List.of("Y_h"), i("axis", 1));
        ModelDef m = b.output(flat).load(dir, OnnxOptions.defaults().withBatchSymbol("N")
                .withLoss(OnnxOptions.Loss.MSE));
        Graph g = Graph.instantiate(m, 2, DType.FP32);
        List<Node> copies = g.nodes().stream().filter(n -> n.name().endsWith("initial_c0/copy")).toList();
        assertEquals(1, copies.size(), "one copy for c0");
        assertEquals(ConstElementwise.scalar("mul", 1, false), copies.get(0).op(), "the same values as h0");
        assertEquals(Shape.of(2, h), copies.get(0).outShapes().get(0));
    }

    @Test
    void bidirectionalGruWithZeroInitialStateAndRnnWithRelu() throws Exception {
        int l = 3, in = 4, h = 2;
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, l, "N", in);
        String w = b.weight("W", 2, 3 * h, in), r = b.weight("R", 2, 3 * h, h), bias = b.weight("B", 2, 6 * h);
        String h0 = b.weight("h0", 2, 1, h); // a zero initializer: the state starts at zero for any batch
        b.nodeOut("GRU", List.of("x", w, r, bias, "", h0), List.of("Y"), i("hidden_size", h),
                s("direction", "bidirectional"), i("linear_before_reset", 1));
        String y = b.node("Reshape", List.of("Y", b.ints(l, -1, 2 * h)));   // [L, N, 2H]
        String wr = b.weight("Wr", 1, h, 2 * h), rr = b.weight("Rr", 1, h, h);
        b.nodeOut("RNN", List.of(y, wr, rr), List.of("", "Yh"), i("hidden_size", h),
                strings("activations", "Relu"));
        String out = b.node("Flatten", List.of("Yh"), i("axis", 2));
        ModelDef m = b.output(out).load(dir, OnnxOptions.defaults().withBatchSymbol("N")
                .withLoss(OnnxOptions.Loss.MSE));
        Graph g = Graph.instantiate(m, 5, DType.FP32);
        long gru = 2L * (3 * h * in + 3 * h * h + 6 * h), rnn = (long) h * 2 * h + h * h;
        assertEquals(gru + rnn, g.parameterCount());
        assertEquals(2L * 2 * l + 2 * l, count(g, Linear.class), "two products per step and direction");
    }

    @Test
    void nonZeroConstantStateAndPeepholesAreReportedAsUnsupported() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, 2, "N", 3);
        String w = b.weight("W", 1, 8, 3), r = b.weight("R", 1, 8, 2), bias = b.weight("B", 1, 16);
        String p = b.weight("P", 1, 6);
        b.nodeOut("LSTM", List.of("x", w, r, bias, "", "", "", p), List.of("Y"), i("hidden_size", 2));
        Path f = b.output("Y").write(dir);
        var e = assertThrows(memplan.io.ModelFormatException.class, () -> OnnxImporter.read(f,
                OnnxOptions.defaults().withBatchSymbol("N")));
        assertTrue(e.reason().contains("LSTM (peepholes)"), e.reason());
    }

    private static memplan.onnx.proto.Onnx.AttributeProto strings(String name, String... v) {
        var a = memplan.onnx.proto.Onnx.AttributeProto.newBuilder().setName(name)
                .setType(memplan.onnx.proto.Onnx.AttributeProto.AttributeType.STRINGS);
        for (String x : v) a.addStrings(com.google.protobuf.ByteString.copyFromUtf8(x));
        return a.build();
    }
}

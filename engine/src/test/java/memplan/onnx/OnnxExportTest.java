package memplan.onnx;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.onnx.proto.Onnx.ModelProto;
import memplan.onnx.proto.Onnx.NodeProto;
import memplan.ops.Mish;
import memplan.ops.*;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The exporter writes every op of the closed set that ONNX can express, and the importer reads each back as the
 * same op: the ops that no other round trip covers, at several opsets. Those it cannot write say so, naming the layer.
 */
class OnnxExportTest {
    @TempDir
    Path dir;

    /** Elementwise ops with constants, masks, Cast, Split, Pad, Slice, Clip, ReduceMean, Opaque and the rest. */
    static ModelDef everyOp() {
        var b = ModelDef.builder("every_op");
        String x = b.add("image", new Input(List.of("N", "4", "8", "8"), null));
        String mask = b.add("mask", new Input(List.of("N", "1", "8", "8"), DType.BOOL));
        String ids = b.add("ids", new Input(List.of("N"), DType.INT64));
        String h = b.add("half", ConstElementwise.scalar("mul", 0.5, false), x);
        h = b.add("shift", new ConstElementwise("add", List.of(4, 1, 1), 0, false, true), h);
        h = b.add("table", new ConstElementwise("div", List.of(1, 8, 8), 0, true, false), h);
        h = b.add("square", ConstElementwise.scalar("pow", 2, false), h);
        h = b.add("leaky", new LeakyReLU(0.1), h);
        h = b.add("hsig", new HardSigmoid(0.2, 0.5), h);
        h = b.add("hswish", new HardSwish(), h);
        h = b.add("mish", new Mish(), h);
        h = b.add("silu", new SiLU(), h);
        h = b.add("root", new Sqrt(), h);
        h = b.add("sig", new Sigmoid(), h);
        h = b.add("tanh", new Tanh(), h);
        b.add("parts", new Split(1, List.of(1, 3)), h);
        String p = b.add("pad", new Pad(List.of(0, 0, 1, 1, 0, 0, 1, 1), "reflect"), "parts:1");
        p = b.add("crop_h", new Slice(2, 1, 9), p);
        p = b.add("crop_w", new Slice(3, 1, 9), p);
        String cat = b.add("cat", new Concat(1), "parts:0", p);
        String m = b.add("masked", new MaskedFill(List.of(), -1e4, true), cat, mask);
        m = b.add("causal", new MaskedFill(List.of(1, 1, 8, 8), 0, false), m);
        String d = b.add("diff", new Sub(), m, x);
        d = b.add("ratio", new Div(), d, x);
        d = b.add("power", new Pow(), d, x);
        String r = b.add("mean", new ReduceMean(List.of(2, 3), false), d);
        String fid = b.add("ids_float", new Cast(null), ids);
        fid = b.add("ids_col", new Reshape(List.of(0, 1)), fid);
        String s = b.add("sum", new Add(), r, fid);
        s = b.add("clip", new Clip(-1, 1), s);
        s = b.add("selu", new Opaque("onnx:Selu", 1, 1), s);
        s = b.add("probs", new Softmax(), s);
        s = b.add("fc", new Linear(3, true), s);
        String t = b.add("label", new Input(List.of("N"), DType.INT64));
        b.add("loss", new CrossEntropy(1), s, t);
        return b.build();
    }

    /** The ops of the layers other than inputs, in order: records, so hyperparameters count too. */
    private static List<Op> ops(ModelDef m) {
        return m.layers().stream().map(Layer::op).filter(op -> !(op instanceof Input)).toList();
    }

    @Test
    void everyOpRoundTrips() throws Exception {
        ModelDef original = everyOp();
        OnnxOptions o = OnnxOptions.defaults().withOpaqueUnsupported(true).withLoss(OnnxOptions.Loss.CE);
        for (int opset : new int[]{11, 13, 18}) {
            Path f = dir.resolve("every_" + opset + ".onnx");
            OnnxExporter.write(original, opset, f, false);
            ModelDef imported = OnnxImporter.read(f, o);
            assertEquals(ops(original), ops(imported), "ops at opset " + opset);
            for (int batch : new int[]{1, 6}) {
                Graph go = Graph.instantiate(original, batch, DType.FP32);
                Graph gi = Graph.instantiate(imported, batch, DType.FP32);
                assertEquals(go.parameterCount(), gi.parameterCount(), "parameters at opset " + opset);
                assertEquals(OnnxRoundTripTest.peak(original, batch), OnnxRoundTripTest.peak(imported, batch),
                        "peak at batch " + batch + ", opset " + opset);
            }
        }
    }

    /** Resize (scales and sizes forms), Flip (a Slice of step -1), ConvTranspose3d and Pad wrap (opset 19). */
    static ModelDef spatialOps(boolean wrap) {
        var b = ModelDef.builder("spatial_ops");
        String h = b.add("image", new Input(List.of("N", "4", "8", "8"), null));
        h = b.add("grow", new Resize(List.of(12, 12), List.of(1.5, 1.5), "linear", "half_pixel", "round_prefer_floor",
                -0.75, false), h);
        h = b.add("mirror", new Flip(List.of(2)), h);
        h = b.add("shrink", Resize.of("cubic", "align_corners", 8, 7), h);
        h = b.add("near", new Resize(List.of(5, 9), List.of(), "nearest", "half_pixel", "round_prefer_ceil", -0.75,
                false), h);
        if (wrap) h = b.add("wrap", new Pad(List.of(0, 0, 1, 2, 0, 0, 3, 0), "wrap"), h);
        h = b.add("vol", new Reshape(List.of(0, 4, wrap ? 9 : 5, wrap ? 11 : 9, 1)), h);
        h = b.add("deconv3d", new ConvTranspose3d(4, new Triple(3, 1, 1), Triple.of(1), new Triple(1, 0, 0),
                Triple.of(0), Triple.of(1), 2, true), h);
        h = b.add("flat", new Flatten(1), h);
        h = b.add("fc", new Linear(3, true), h);
        b.add("loss", new CrossEntropy(1), h, b.add("label", new Input(List.of("N"), DType.INT64)));
        return b.build();
    }

    @Test
    void spatialOpsRoundTrip() throws Exception {
        OnnxOptions o = OnnxOptions.defaults().withLoss(OnnxOptions.Loss.CE);
        for (int opset : new int[]{11, 13, 18, 19}) {
            ModelDef original = spatialOps(opset >= 19);
            Path f = dir.resolve("spatial_" + opset + ".onnx");
            OnnxExporter.write(original, opset, f, false);
            ModelDef imported = OnnxImporter.read(f, o);
            assertEquals(ops(original), ops(imported), "ops at opset " + opset);
            for (int batch : new int[]{1, 6})
                assertEquals(OnnxRoundTripTest.peak(original, batch), OnnxRoundTripTest.peak(imported, batch),
                        "peak at batch " + batch + ", opset " + opset);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(spatialOps(true), 18, null));
        assertTrue(e.getMessage().contains("Pad mode wrap needs opset 19"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(spatialOps(false), 10, null));
        assertTrue(e.getMessage().contains("Resize needs opset 11"), e.getMessage());
    }

    @Test
    void attributeAndInputFormsFollowTheOpset() {
        ModelProto m11 = OnnxExporter.export(everyOp(), 11, null), m13 = OnnxExporter.export(everyOp(), 13, null);
        NodeProto split11 = node(m11, "parts"), split13 = node(m13, "parts");
        assertEquals(1, split11.getInputCount());
        assertEquals("split", split11.getAttribute(1).getName());
        assertEquals(2, split13.getInputCount());
        assertEquals(List.of("parts:0", "parts:1"), split13.getOutputList());
        assertEquals(2, node(m11, "pad").getInputCount()); // Pad takes its pads as an input from opset 11
        assertEquals(1, OnnxExporter.export(everyOp(), 10, null).getGraph().getNodeList().stream()
                .filter(n -> n.getName().equals("pad")).findFirst().orElseThrow().getInputCount());
        assertEquals("Selu", node(m13, "selu").getOpType());
        assertEquals("Where", node(m13, "causal").getOpType());
    }

    private static NodeProto node(ModelProto m, String name) {
        return m.getGraph().getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void opsOnnxCannotExpressNameTheLayer() {
        var b = ModelDef.builder("fused");
        String q = b.add("q", new Input(List.of("N", "4", "8"), null));
        String y = b.add("attn", new Attention(2, true), q, q, q);
        b.add("loss", new MseLoss(), y, b.add("target", new Input(List.of("N", "4", "8"), null)));
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(b.build(), 17, null));
        assertTrue(e.getMessage().startsWith("cannot export layer 'attn' (Attention) to ONNX: "), e.getMessage());

        var c = ModelDef.builder("rnn");
        String x = c.add("x", new Input(List.of("N", "5"), null));
        String hs = c.add("h", new Input(List.of("N", "6"), null));
        c.add("cell", new LSTMCell(6), x, hs, hs);
        c.add("loss", new MseLoss(), "cell:0", c.add("target", new Input(List.of("N", "6"), null)));
        var e2 = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(c.build(), 17, null));
        assertTrue(e2.getMessage().startsWith("cannot export layer 'cell' (LSTMCell) to ONNX: "), e2.getMessage());

        var r = ModelDef.builder("rope");
        String rx = r.add("x", new Input(List.of("N", "4", "8"), null));
        String ry = r.add("rope", new RotaryEmbedding(4, 10000), rx);
        r.add("loss", new MseLoss(), ry, r.add("target", new Input(List.of("N", "4", "8"), null)));
        var er = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(r.build(), 17, null));
        assertTrue(er.getMessage().startsWith("cannot export layer 'rope' (RotaryEmbedding) to ONNX: "), er.getMessage());

        var d = ModelDef.builder("opaque");
        String z = d.add("x", new Input(List.of("N", "5"), null));
        d.add("mystery", new Opaque("json:custom", 1, 1), z);
        var e3 = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(d.build(), 17, null));
        assertTrue(e3.getMessage().contains("layer 'mystery' (Opaque)"), e3.getMessage());
    }

    /**
     * RMSNorm and the gated activations export as the operators PyTorch writes for them; they import back as those
     * parts (no import fusion yet), with the same parameters.
     */
    @Test
    void llamaPartsExportAsTheirDecomposition() throws Exception {
        var b = ModelDef.builder("llama_parts");
        String x = b.add("x", new Input(List.of("N", "3", "8"), null));
        String h = b.add("norm", new RMSNorm(1e-6), x);
        String g = b.add("gate", new Linear(8, false), h);
        String u = b.add("up", new Linear(8, false), h);
        String a = b.add("swiglu", new GatedActivation(GatedActivation.Gate.SILU), g, u);
        a = b.add("geglu", new GatedActivation(GatedActivation.Gate.GELU), a, u);
        b.add("loss", new MseLoss(), a, b.add("target", new Input(List.of("N", "3", "8"), null)));
        ModelDef m = b.build();
        Path f = dir.resolve("llama_parts.onnx");
        OnnxExporter.write(m, 17, f, false);
        ModelDef back = OnnxImporter.read(f, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        List<String> types = ops(back).stream().map(Op::type).toList();
        // the importer fuses Sigmoid(x) * x back into SiLU and the Erf form into GELU
        assertEquals(List.of("ConstElementwise", "ReduceMean", "ConstElementwise", "Sqrt", "Div", "ConstElementwise",
                "Linear", "Linear", "SiLU", "Mul", "GELU", "Mul", "MseLoss"), types);
        assertEquals(Graph.instantiate(m, 2, DType.FP32).parameterCount(),
                Graph.instantiate(back, 2, DType.FP32).parameterCount());
    }
}

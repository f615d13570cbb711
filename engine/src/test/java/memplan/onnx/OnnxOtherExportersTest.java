package memplan.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.exec.RunResult;
import memplan.graph.Graph;
import memplan.io.ModelFormatException;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Opaque;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.count;
import static memplan.onnx.OnnxGraphBuilder.outShape;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Files written as other exporters write them (tools/onnx-fixtures/make_fixtures.py, engine test resources
 * onnx-exporters/): tf2onnx's Keras export (NHWC, transposes around Conv, `model/conv2d/BiasAdd:0` names), paddle2onnx
 * at opsets 9, 10 and 11 (`p2o.*` names, attribute forms, Shape-based reshapes), and an onnxruntime-optimised file
 * (com.microsoft fused nodes). Each imports with the trainable parameter count the generator recorded (the sum of
 * the trainable initializers' sizes) and profiles at two batch sizes, or fails with one line naming what is missing.
 */
class OnnxOtherExportersTest {
    private static Path resource(String name) throws Exception {
        return Path.of(OnnxOtherExportersTest.class.getResource("/onnx-exporters/" + name).toURI());
    }

    private static long recorded(String file) throws Exception {
        try (InputStream in = OnnxOtherExportersTest.class.getResourceAsStream("/onnx-exporters/params.json")) {
            JsonNode v = new ObjectMapper().readTree(in).get(file);
            assertNotNull(v, file + " is not in params.json");
            return v.asLong();
        }
    }

    private static long peak(ModelDef m, int batch) {
        return MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(m, batch, DType.FP32), Optimizer.SGD))
                .peakBytes();
    }

    private static ModelDef imports(String file) throws Exception {
        ModelDef m = OnnxImporter.read(resource(file), OnnxOptions.defaults());
        for (Layer l : m.layers()) assertFalse(l.op() instanceof Opaque, file + ": opaque op " + l.name());
        for (int batch : new int[]{1, 4})
            assertEquals(recorded(file), Graph.instantiate(m, batch, DType.FP32).parameterCount(), file);
        assertTrue(peak(m, 4) > peak(m, 1), file + ": the peak grows with the batch");
        return m;
    }

    private static void trainsIdenticallyUnderRecompute(ModelDef m) {
        Schedule s = TrainingGraph.derive(Graph.instantiate(m, 2, DType.FP32), Optimizer.SGD);
        RunResult base = OnnxCpuTrainingTest.run(Plan.baseline(s));
        Plan rec = OnnxCpuTrainingTest.everywhere(s, t -> Decision.RECOMPUTE);
        assertEquals(base.weightsSha256(), OnnxCpuTrainingTest.run(rec).weightsSha256(), m.name() + " under recompute");
    }

    @Test
    void tf2onnxKerasExport() throws Exception {
        ModelDef m = imports("tf2onnx-keras-op13.onnx");
        assertEquals(Shape.of(3, 10), outShape(m, 3), "[N, 10] from an NHWC input with an unk__ batch");
        assertEquals(2, count(m, "Conv2d"));
        assertEquals(1, count(m, "BatchNorm2d"), "the inference-form BatchNormalization");
        assertEquals(1, count(m, "Linear"), "Dense as MatMul + Add");
        assertTrue(m.layers().stream().anyMatch(l -> l.name().equals("model/conv2d/BiasAdd")),
                "layers keep the exporter's names");
        trainsIdenticallyUnderRecompute(m);
    }

    @Test
    void paddle2onnxAtOpsets9To11() throws Exception {
        long peak = -1;
        for (String f : List.of("paddle-op9.onnx", "paddle-op10.onnx", "paddle-op11.onnx")) {
            ModelDef m = imports(f);
            assertEquals(Shape.of(5, 2), outShape(m, 5), f);
            assertEquals(1, count(m, "Upsample"), f);
            assertEquals(1, count(m, "Pad"), f);
            if (!f.equals("paddle-op11.onnx")) {
                if (peak >= 0) assertEquals(peak, peak(m, 4), f + ": the opset-9 and -10 forms are the same network");
                peak = peak(m, 4);
            }
        }
        trainsIdenticallyUnderRecompute(imports("paddle-op9.onnx"));
    }

    /** FusedConv, FusedMatMul, BiasGelu and SkipLayerNormalization are spelt out as the nodes they fuse. */
    @Test
    void onnxruntimeFusionsAreSpeltOut() throws Exception {
        ModelDef m = imports("ort-fused-op13.onnx");
        assertEquals(1, count(m, "Conv2d"));
        assertEquals(1, count(m, "GELU"));
        assertEquals(1, count(m, "LayerNorm"));
        assertEquals(Shape.of(3, 4, 64), outShape(m, 3));
        trainsIdenticallyUnderRecompute(m);
    }

    /** com.microsoft nodes MemPlan does not spell out: one line naming them; --opaque keeps them for a profile. */
    @Test
    void otherMicrosoftNodesAreNamedInOneLine() throws Exception {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> OnnxImporter.read(resource("ort-attention-op13.onnx"), OnnxOptions.defaults()));
        String msg = e.getMessage();
        for (String op : List.of("com.microsoft.Attention", "com.microsoft.QuickGelu", "node 'Attention_0'"))
            assertTrue(msg.contains(op), op + " in: " + msg);
        assertFalse(msg.contains("\n") || msg.contains("Exception"), msg);
        ModelDef m = OnnxImporter.read(resource("ort-attention-op13.onnx"),
                OnnxOptions.defaults().withOpaqueUnsupported(true));
        assertEquals(2, count(m, "Opaque"));
        assertEquals(16 * 16, Graph.instantiate(m, 2, DType.FP32).parameterCount(),
                "the opaque Attention's weights are not counted");
        assertTrue(peak(m, 4) > peak(m, 1));
    }

    /**
     * torchvision.ops.nms in a module PyTorch 1.13 exported (tools/pytorch/export_detection.py): NMS named in one line;
     * with --opaque it is sized at its upper bound (every box kept) and the model profiles.
     */
    @Test
    void torchvisionNmsExport() throws Exception {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> OnnxImporter.read(resource("nms-head-op11.onnx"), OnnxOptions.defaults()));
        assertTrue(e.getMessage().contains("(NonMaxSuppression): its output size depends on the tensor's values"),
                e.getMessage());
        ModelDef m = OnnxImporter.read(resource("nms-head-op11.onnx"), OnnxOptions.defaults()
                .withOpaqueUnsupported(true).withLoss(OnnxOptions.Loss.MSE));
        long recorded;
        try (InputStream in = OnnxOtherExportersTest.class.getResourceAsStream("/onnx-exporters/nms-head-params.json")) {
            recorded = new ObjectMapper().readTree(in).get("nms-head-op11.onnx").asLong();
        }
        Graph g = Graph.instantiate(m, 3, DType.FP32);
        assertEquals(recorded, g.parameterCount());
        var nms = g.nodes().stream().filter(n -> n.op() instanceof Opaque o && o.bound() == Opaque.Bound.NMS)
                .findFirst().orElseThrow();
        assertEquals(Shape.of(3 * 64, 3), nms.outShapes().get(0), "all 8 x 8 boxes of 3 images, one class");
        assertTrue(peak(m, 4) > peak(m, 1));
    }
}

package memplan.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Opaque;
import memplan.exec.RunResult;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.profile.MemoryProfile;
import memplan.train.Schedule;
import memplan.train.Optimizer;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Tiny files PyTorch 1.13 exported in training mode (tools/pytorch/export_shape_models.py writes them and records
 * sum(p.numel()) in params.json): each imports with PyTorch's parameter count, without opaque ops, and profiles at
 * two batch sizes with a peak that grows with the batch.
 */
class OnnxShapeModelsTest {
    private static Path resource(String name) throws URISyntaxException {
        return Path.of(OnnxShapeModelsTest.class.getResource("/onnx-shape/" + name).toURI());
    }

    private static long pytorchParams(String file) throws Exception {
        try (InputStream in = OnnxShapeModelsTest.class.getResourceAsStream("/onnx-shape/params.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            JsonNode v = root.get("params").get(file);
            assertNotNull(v, file + " is not in params.json");
            return v.asLong();
        }
    }

    private static long peak(ModelDef m, int batch) {
        return MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(m, batch, DType.FP32), Optimizer.SGD))
                .peakBytes();
    }

    private static ModelDef importsLikePyTorch(String file, OnnxOptions opts) throws Exception {
        ModelDef m = OnnxImporter.read(resource(file), opts);
        for (Layer l : m.layers()) assertFalse(l.op() instanceof Opaque, file + ": opaque op " + l.name());
        for (int batch : new int[]{1, 5}) {
            Graph g = Graph.instantiate(m, batch, DType.FP32);
            assertEquals(pytorchParams(file), g.parameterCount(), file + " parameters at batch " + batch);
        }
        long p1 = peak(m, 1), p5 = peak(m, 5);
        assertTrue(p5 > p1, file + ": peak " + p5 + " at batch 5 vs " + p1 + " at batch 1");
        return m;
    }

    @Test
    void vitClassTokenIsExpandedToTheBatch() throws Exception {
        for (String f : List.of("vit-tiny-op13.onnx", "vit-tiny-op17.onnx")) importsLikePyTorch(f,
                OnnxOptions.defaults());
    }

    @Test
    void swinShiftedWindowMaskIsFolded() throws Exception {
        importsLikePyTorch("swin-tiny-op13.onnx", OnnxOptions.defaults());
    }

    /** Two stages: PatchMerging's strided slices (step 2 from 0 and from 1) between them. */
    @Test
    void swinPatchMergingStridedSlices() throws Exception {
        ModelDef m = importsLikePyTorch("swin2-tiny-op13.onnx", OnnxOptions.defaults());
        assertTrue(m.layers().stream().filter(l -> l.op() instanceof memplan.ops.Slice s && s.end() - s.start() == 1)
                .count() >= 4, "four strided slices of PatchMerging");
    }

    /** PyTorch's export of comparisons and logic on computed tensors: bool Compare ops, and training on the CPU. */
    @Test
    void logicOpsOnComputedTensors() throws Exception {
        ModelDef m = importsLikePyTorch("logic-tiny-op13.onnx", OnnxOptions.defaults());
        assertEquals(9, m.layers().stream().filter(l -> l.op() instanceof memplan.ops.Compare).count());
        Schedule s = TrainingGraph.derive(Graph.instantiate(m, 3, DType.FP32), Optimizer.SGD);
        RunResult base = OnnxCpuTrainingTest.run(Plan.baseline(s));
        Plan rec = OnnxCpuTrainingTest.everywhere(s, t -> Decision.RECOMPUTE);
        assertEquals(base.weightsSha256(), OnnxCpuTrainingTest.run(rec).weightsSha256(), "under recompute");
    }

    @Test
    void paddleOpset9SliceOfShape() throws Exception {
        importsLikePyTorch("paddle-slice-op9.onnx", OnnxOptions.defaults());
    }

    /** The class token's Fill and the gathered position bias run on the CPU backend, and recompute changes nothing. */
    @Test
    void tinyVitAndSwinTrainIdenticallyUnderRecompute() throws Exception {
        for (String f : List.of("vit-tiny-op17.onnx", "swin-tiny-op13.onnx", "swin2-tiny-op13.onnx")) {
            ModelDef m = OnnxImporter.read(resource(f), OnnxOptions.defaults());
            Schedule s = TrainingGraph.derive(Graph.instantiate(m, 2, DType.FP32), Optimizer.ADAM);
            RunResult base = OnnxCpuTrainingTest.run(Plan.baseline(s));
            assertNotEquals(base.iterations().get(0).loss(), base.iterations().get(1).loss(), f + ": weights changed");
            Plan rec = OnnxCpuTrainingTest.everywhere(s, t -> Decision.RECOMPUTE);
            assertTrue(java.util.Arrays.stream(rec.decisions()).anyMatch(d -> d == Decision.RECOMPUTE),
                    f + ": something is recomputed");
            assertEquals(base.weightsSha256(), OnnxCpuTrainingTest.run(rec).weightsSha256(), f + " under recompute");
        }
    }
}

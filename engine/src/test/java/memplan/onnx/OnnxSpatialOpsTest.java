package memplan.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.ConvTranspose3d;
import memplan.ops.Flip;
import memplan.ops.Op;
import memplan.ops.Opaque;
import memplan.ops.Pad;
import memplan.ops.Resize;
import memplan.ops.Slice;
import memplan.ops.Triple;
import memplan.ops.Upsample;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.exec.RunResult;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Files PyTorch 1.13 exported in training mode and two written with onnx.helper (tools/pytorch/export_spatial_ops.py,
 * resources onnx-spatial/): nn.ConvTranspose3d, F.interpolate in every mode at scale 1.5, 2 and 2.5 and at sizes,
 * torch.flip, Pad mode wrap and Slice with negative steps. Each imports with PyTorch's parameter count and no opaque
 * op, to the ops, shapes and saved bytes PyTorch's autograd has (resize and flip save nothing), and trains 2
 * iterations on the CPU backend with the same weights under a plan that recomputes what it can.
 */
class OnnxSpatialOpsTest {
    static final int BATCH = 2;

    static Path resource(String name) throws Exception {
        return Path.of(OnnxSpatialOpsTest.class.getResource("/onnx-spatial/" + name).toURI());
    }

    static JsonNode manifest() throws Exception {
        try (InputStream in = OnnxSpatialOpsTest.class.getResourceAsStream("/onnx-spatial/manifest.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    private static ModelDef imports(String file) throws Exception {
        ModelDef m = OnnxImporter.read(resource(file), OnnxOptions.defaults());
        for (Layer l : m.layers()) assertFalse(l.op() instanceof Opaque, file + ": opaque op " + l.name());
        JsonNode p = manifest().get("params").get(file);
        assertNotNull(p, file + " is not in manifest.json");
        assertEquals(p.asLong(), Graph.instantiate(m, BATCH, DType.FP32).parameterCount(), file + " parameters");
        return m;
    }

    private static <T extends Op> List<Node> nodes(Graph g, Class<T> type) {
        return g.nodes().stream().filter(n -> type.isInstance(n.op())).toList();
    }

    private static long saved(ModelDef m) {
        return MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(m, BATCH, DType.FP32), Optimizer.SGD))
                .savedBytes();
    }

    /** Two iterations on the CPU backend; recomputing every tensor it can leaves the weights bit-identical. */
    private static void trains(ModelDef m) {
        Schedule s = TrainingGraph.derive(Graph.instantiate(m, BATCH, DType.FP32), Optimizer.SGD);
        RunResult base = OnnxCpuTrainingTest.run(Plan.baseline(s));
        Plan rec = OnnxCpuTrainingTest.everywhere(s, t -> Decision.RECOMPUTE);
        assertEquals(base.weightsSha256(), OnnxCpuTrainingTest.run(rec).weightsSha256(), m.name() + " recomputed");
    }

    private static long bytes(Shape s) {
        return s.numel() * 4;
    }

    @Test
    void convTranspose3dLikePyTorch() throws Exception {
        for (String f : List.of("convtranspose3d-op13.onnx", "convtranspose3d-op17.onnx")) {
            ModelDef m = imports(f);
            Graph g = Graph.instantiate(m, BATCH, DType.FP32);
            List<Node> ct = nodes(g, ConvTranspose3d.class);
            assertEquals(2, ct.size(), f);
            assertEquals(new ConvTranspose3d(4, Triple.of(3), Triple.of(2), Triple.of(1), Triple.of(1), Triple.of(1), 1,
                    true), ct.get(0).op());
            assertEquals(new ConvTranspose3d(2, new Triple(2, 3, 1), new Triple(1, 2, 1), Triple.of(0), Triple.of(0),
                    Triple.of(1), 2, false), ct.get(1).op());
            assertEquals(Shape.of(BATCH, 4, 4, 6, 8), ct.get(0).outShapes().get(0));
            assertEquals(Shape.of(BATCH, 2, 5, 13, 8), ct.get(1).outShapes().get(0));
            // ConvolutionBackward0 keeps each input (x is the data batch), ReLU its output (the same tensor), the
            // MSE loss its prediction: the ReLU output and the output
            assertEquals(bytes(ct.get(0).outShapes().get(0)) + bytes(ct.get(1).outShapes().get(0)), saved(m), f);
            if (f.endsWith("13.onnx")) trains(m);
        }
    }

    /** F.interpolate: the mode, coordinate transformation and sizes PyTorch computes; saves nothing. */
    @Test
    void interpolateInEveryModeLikePyTorch() throws Exception {
        record Case(String file, String mode, String coordinates, List<Integer> sizes, List<Double> scales) {
        }
        List<Case> cases = List.of(
                new Case("resize-bilinear-s1.5-op13.onnx", "linear", "half_pixel", List.of(7, 9), List.of(1.5, 1.5)),
                new Case("resize-bilinear-s1.5-ac-op13.onnx", "linear", "align_corners", List.of(7, 9),
                        List.of(1.5, 1.5)),
                new Case("resize-bilinear-s2-op13.onnx", "linear", "half_pixel", List.of(10, 12), List.of(2.0, 2.0)),
                new Case("resize-bicubic-7x9-op13.onnx", "cubic", "half_pixel", List.of(7, 9), List.of()),
                new Case("resize-bicubic-7x9-ac-op13.onnx", "cubic", "align_corners", List.of(7, 9), List.of()),
                new Case("resize-nearest-s1.5-op13.onnx", "nearest", "asymmetric", List.of(7, 9), List.of(1.5, 1.5)),
                new Case("resize-nearest-7x5-op13.onnx", "nearest", "asymmetric", List.of(7, 5), List.of()),
                new Case("resize-linear1d-s2.5-op13.onnx", "linear", "half_pixel", List.of(12), List.of(2.5)),
                new Case("resize-trilinear-3x5x4-op13.onnx", "linear", "half_pixel", List.of(3, 5, 4), List.of()));
        for (Case c : cases) {
            ModelDef m = imports(c.file);
            Graph g = Graph.instantiate(m, BATCH, DType.FP32);
            List<Node> rs = nodes(g, Resize.class);
            assertEquals(1, rs.size(), c.file);
            Resize op = (Resize) rs.get(0).op();
            assertEquals(c.mode, op.mode(), c.file);
            assertEquals(c.coordinates, op.coordinates(), c.file);
            assertEquals(c.sizes, op.sizes(), c.file);
            assertEquals(c.scales, op.scales(), c.file);
            Shape y = rs.get(0).outShapes().get(0);
            assertEquals(c.sizes, Arrays.stream(y.dims()).boxed().toList().subList(2, y.rank()), c.file);
            // upsample_* keep no tensor: only the prediction is saved (by the loss), not the conv's output
            assertEquals(bytes(y), saved(m), c.file);
            if (c.file.contains("s1.5-op") || c.file.contains("bicubic-7x9-op") || c.file.contains("trilinear"))
                trains(m);
        }
        // nearest at an integer scale reads floor(o / 2), which the Upsample op does
        ModelDef up = imports("resize-nearest-s2-op13.onnx");
        assertEquals(List.of(new Upsample(2)), up.layers().stream().map(Layer::op).filter(o -> o instanceof Upsample
                || o instanceof Resize).toList());
    }

    @Test
    void torchFlipIsAFlipCopy() throws Exception {
        ModelDef m = imports("flip-op13.onnx");
        Graph g = Graph.instantiate(m, BATCH, DType.FP32);
        List<Node> fl = nodes(g, Flip.class);
        assertEquals(List.of(new Flip(List.of(1, 3)), new Flip(List.of(3))), fl.stream().map(Node::op).toList());
        assertTrue(nodes(g, Slice.class).isEmpty(), "a full reversal needs no crop");
        trains(m);
    }

    @Test
    void padModeWrap() throws Exception {
        ModelDef m = imports("pad-wrap-op19.onnx");
        Graph g = Graph.instantiate(m, BATCH, DType.FP32);
        List<Node> pads = nodes(g, Pad.class);
        assertEquals(List.of(new Pad(List.of(0, 0, 1, 2, 0, 0, 1, 0), "wrap")), pads.stream().map(Node::op).toList());
        assertEquals(Shape.of(BATCH, 2, 5, 6), pads.get(0).outShapes().get(0));
        trains(m);
    }

    /** x[:, :, 2:0:-1, ::-2]: a crop and a strided slice in forward order, then one Flip of both axes. */
    @Test
    void sliceWithNegativeSteps() throws Exception {
        ModelDef m = imports("slice-negative-op13.onnx");
        Graph g = Graph.instantiate(m, BATCH, DType.FP32);
        List<Node> fl = nodes(g, Flip.class);
        assertEquals(List.of(new Flip(List.of(2, 3))), fl.stream().map(Node::op).toList());
        assertEquals(Shape.of(BATCH, 2, 2, 3), fl.get(0).outShapes().get(0));
        assertEquals(new Slice(2, 1, 3), nodes(g, Slice.class).get(0).op());
        trains(m);
    }
}

package memplan.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.backend.cpu.CpuBackend;
import memplan.exec.Executor;
import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.plan.TensorUses;
import memplan.sim.DeviceModel;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TensorInfo;
import memplan.train.TrainingGraph;
import memplan.model.Layer;
import memplan.ops.GroupNorm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny files PyTorch 1.13 exported in training mode (tools/pytorch/export_corpus.py --tiny, kept in
 * src/test/resources/onnx/corpus): each imports with the parameter count its manifest recorded from
 * sum(p.numel()), uses the operators it was written for, and trains on the CPU backend with the measured peak equal to
 * the predicted one and the same weights when every tensor that can be is recomputed.
 */
class OnnxCorpusFilesTest {
    static final Path DIR = Path.of("src/test/resources/onnx/corpus");
    static final DeviceModel DEV = DeviceModel.preset("cpu");

    static JsonNode manifest(String file) throws IOException {
        JsonNode m = new ObjectMapper().readTree(DIR.resolve("manifest.json").toFile()).get(file);
        assertTrue(m != null && m.has("params"), file + " is in the manifest");
        return m;
    }

    static Map<String, Integer> opCounts(ModelDef m) {
        Map<String, Integer> c = new TreeMap<>();
        m.layers().forEach(l -> c.merge(l.op().type(), 1, Integer::sum));
        return c;
    }

    private static RunResult run(Plan p) {
        try (CpuBackend be = new CpuBackend(1L << 30)) {
            RunResult r = new Executor(p, DEV).run(be, new RunConfig(2, 0.01, 7), ProgressListener.NONE, () -> false);
            for (IterationResult it : r.iterations()) {
                assertEquals(it.predictedPeakBytes(), it.measuredPeakBytes(), "measured peak = predicted");
                assertTrue(Float.isFinite(it.loss()), "loss " + it.loss());
            }
            return r;
        }
    }

    /** Both nn.GroupNorm patterns and the nn.InstanceNorm2d node become one GroupNorm each, nothing else. */
    @Test
    void groupNormPatternIsOneOp() throws Exception {
        ModelDef m = OnnxImporter.read(DIR.resolve("groupnorm-op13.onnx"), OnnxOptions.defaults());
        Map<String, Integer> counts = opCounts(m);
        assertEquals(3, counts.get("GroupNorm"), counts.toString());
        for (String gone : List.of("Mul", "Add", "ConstElementwise", "Reshape", "Opaque"))
            assertFalse(counts.containsKey(gone), gone + " in " + counts);
        List<GroupNorm> gn = m.layers().stream().map(Layer::op).filter(o -> o instanceof GroupNorm)
                .map(o -> (GroupNorm) o).toList();
        assertEquals(List.of(new GroupNorm(4, 1e-5, true), new GroupNorm(4, 1e-5, true), new GroupNorm(16, 1e-5, true)),
                gn);
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
            "conv1d-op13.onnx; Conv2d ConvTranspose2d BatchNorm2d MaxPool2d AvgPool2d GlobalAvgPool",
            "conv3d-op13.onnx; Conv3d BatchNorm2d MaxPool3d AvgPool3d GlobalAvgPool",
            "groupnorm-op13.onnx; GroupNorm",
            "lstm-op13.onnx; Linear Split Sigmoid Tanh Mul",
            "lstm_bi2-op13.onnx; Linear Split Sigmoid Tanh Mul Concat",
            "gru-op13.onnx; Linear Split Sigmoid Tanh Mul Sub",
            "gru_bi-op13.onnx; Linear Split Sigmoid Tanh Mul Sub Concat",
            "rnn-op13.onnx; Linear Tanh",
    })
    void importsWithPyTorchsParameterCountAndTrains(String file, String ops) throws Exception {
        ModelDef m = OnnxImporter.read(DIR.resolve(file), OnnxOptions.defaults().withBatchSymbol("N"));
        Map<String, Integer> counts = opCounts(m);
        assertTrue(counts.keySet().containsAll(Set.of(ops.split(" "))), counts.toString());
        Graph g = Graph.instantiate(m, 3, DType.FP32);
        assertEquals(manifest(file).get("params").asLong(), g.parameterCount(), file);
        Schedule s = TrainingGraph.derive(g, Optimizer.SGD);
        RunResult base = run(Plan.baseline(s));
        assertNotEquals(base.iterations().get(0).loss(), base.iterations().get(1).loss(), "the weights changed");
        Plan rec = Plan.baseline(s);
        TensorUses u = TensorUses.of(s);
        for (TensorInfo t : s.tensors()) {
            Plan q = rec.with(t.id(), Decision.RECOMPUTE);
            if (PlanValidator.problems(q, u).isEmpty()) rec = q;
        }
        assertTrue(rec.changedCount() > 0);
        assertEquals(base.weightsSha256(), run(rec).weightsSha256(), "recompute, " + rec.changedCount() + " tensors");
    }
}

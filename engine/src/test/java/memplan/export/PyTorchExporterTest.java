package memplan.export;

import memplan.backend.Codec;
import memplan.graph.Graph;
import memplan.graph.Value;
import memplan.ir.DType;
import memplan.onnx.OnnxImporter;
import memplan.onnx.OnnxOptions;
import memplan.parallel.Layout;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;
import memplan.train.TrainingGraph;
import memplan.framework.FrameworkProfile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The generated PyTorch module for small plans on ResNet-18 and a Transformer encoder as PyTorch exports them (the
 * fidelity harness's ONNX graphs), against golden files, and that Python compiles it. To update a golden file after a deliberate change,
 * copy target/export-golden/NAME.py over src/test/resources/export/NAME.py and review the diff.
 */
class PyTorchExporterTest {
    @TempDir
    static Path dir;

    static Schedule resnet18;

    static Schedule transformer;

    @BeforeAll
    static void load() throws IOException {
        resnet18 = schedule("resnet18-b2.onnx", 46_781_088L);
        transformer = schedule("transformer_encoder-b2.onnx", 2_097_152L);
    }

    /** A fidelity ONNX graph with a zero file of its weights' length (pytorch-cpu.json): the importer reads shapes. */
    static Schedule schedule(String file, long dataBytes) throws IOException {
        Path onnx = dir.resolve(file);
        try (InputStream in = PyTorchExporterTest.class.getResourceAsStream("/fidelity/models/" + file)) {
            assertNotNull(in, file);
            Files.copy(in, onnx, StandardCopyOption.REPLACE_EXISTING);
        }
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(file + ".data").toFile(), "rw")) {
            f.setLength(dataBytes);
        }
        var model = OnnxImporter.read(onnx, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.CE));
        return TrainingGraph.derive(Graph.instantiate(model, 2, DType.FP32), Optimizer.SGD,
                FrameworkProfile.PYTORCH_CPU);
    }

    static int id(String name) {
        for (TensorInfo t : resnet18.tensors()) if (t.name().equals(name)) return t.id();
        throw new AssertionError("no tensor " + name);
    }

    @Test
    void scopesFollowTorchsNodeNames() {
        assertEquals(Optional.of("layer1.0.conv1"), ModuleScope.of("/layer1/layer1.0/conv1/Conv"));
        assertEquals(Optional.of("features.1.conv.0.0"),
                ModuleScope.of("/features/features.1/conv/conv.0/conv.0.0/Conv"));
        assertEquals(Optional.of("enc.layers.0.linear1"), ModuleScope.of("/enc/layers.0/linear1/MatMul"));
        assertEquals(Optional.of(""), ModuleScope.of("/Flatten"));
        assertEquals(Optional.empty(), ModuleScope.of("layer1.0.conv1"));
        assertTrue(ModuleScope.within("layer1.0.conv1", "layer1.0"));
        assertFalse(ModuleScope.within("layer1.01", "layer1.0"));
    }

    /** One decision of each kind, on module outputs, on what a call saves besides, and on a function's result. */
    static Plan mixed() {
        Plan p = Plan.baseline(resnet18)
                .with(id("/conv1/Conv"), Decision.Swap.auto())
                .with(id("/maxpool/MaxPool.indices"), Decision.RECOMPUTE)
                .with(id("/layer1/layer1.0/bn1/BatchNormalization"), Decision.RECOMPUTE)
                .with(id("/layer1/layer1.0/relu/Relu"), Decision.RECOMPUTE)
                .with(id("/layer1/layer1.1/Add"), Decision.RECOMPUTE)
                .with(id("/layer2/layer2.0/conv1/Conv"), new Decision.Compress(Codec.FP16, 1, false))
                .with(id("/layer2/layer2.0/conv2/Conv"), new Decision.Compress(Codec.SPARSE, 0.5, false));
        return p.withPlanner("test-mixed");
    }

    /**
     * Every tensor that backward reads made inside the first encoder layer, except what leaves it: its functions'
     * results (the residual additions, LayerNorm's input) are covered by a checkpoint region.
     */
    static Plan region() {
        Schedule s = transformer;
        Graph g = s.graph();
        boolean[] saved = new boolean[s.tensorCount()];
        for (Step st : s.steps())
            if (st.phase() == Phase.BACKWARD) for (int r : st.reads()) saved[r] = true;
        String inside = "/enc/layers.0/";
        Plan p = Plan.baseline(s);
        for (TensorInfo t : s.tensors()) {
            if (t.kind() != TensorKind.ACTIVATION && t.kind() != TensorKind.AUX || !saved[t.id()]) continue;
            Value v = g.value(t.value());
            if (v.producer() < 0 || !g.nodes().get(v.producer()).name().startsWith(inside)) continue;
            boolean leaves = g.nodes().stream().anyMatch(n -> !n.name().startsWith(inside)
                    && Arrays.stream(n.inputs()).anyMatch(i -> g.storageOf(i) == g.storageOf(v.id())));
            if (!leaves) p = p.with(t.id(), Decision.RECOMPUTE);
        }
        return p.withPlanner("test-region");
    }

    @Test
    void mixedPlanMatchesItsGoldenFile() throws Exception {
        PyTorchExport ex = PyTorchExporter.export(mixed());
        golden("resnet18-mixed", ex.source());
        assertTrue(ex.decisions().stream().anyMatch(d -> d.tensor().equals("/maxpool/MaxPool.indices")
                && d.module().equals("maxpool") && d.part().equals("aux")));
        assertTrue(ex.decisions().stream().anyMatch(d -> d.tensor().equals("/conv1/Conv")
                && d.kind().equals("swap") && d.part().equals("out") && d.shape().equals(List.of(2L, 64L, 112L, 112L))));
        assertTrue(ex.notExpressed().stream().anyMatch(n -> n.tensor().equals("/layer1/layer1.1/Add")));
        assertTrue(ex.notExpressed().stream().anyMatch(n -> n.tensor().equals("/layer2/layer2.0/conv2/Conv")));
        assertTrue(ex.warnings().stream().anyMatch(w -> w.contains("lossy")), ex.warnings().toString());
        // the plan as carried out keeps exactly the decisions that were not expressed, and is a valid plan
        for (NotExpressed n : ex.notExpressed())
            assertTrue(ex.expressed().decision(id(n.tensor())) instanceof Decision.Keep, n.tensor());
        for (ExportedDecision d : ex.decisions())
            if (!d.kind().equals("follow"))
                assertEquals(d.kind(), ex.expressed().decision(id(d.tensor())).kind(), d.tensor());
        // the ReLU after the recomputed BatchNorm may run in place: its saved copy follows the BatchNorm's decision
        assertTrue(ex.decisions().stream().anyMatch(d -> d.kind().equals("follow") && d.module().equals("layer1.0.relu")
                && d.part().equals("aux")), ex.decisions().toString());
        assertTrue(PlanValidator.problems(ex.expressed()).isEmpty());
    }

    @Test
    void wholeModuleRecomputedBecomesACheckpointRegion() throws Exception {
        PyTorchExport ex = PyTorchExporter.export(region());
        golden("transformer-region", ex.source());
        assertEquals(List.of("enc.layers.0"), ex.regions().stream().map(CheckpointRegion::module).toList());
        assertTrue(ex.regions().get(0).tensors().contains("/enc/layers.0/Add"), ex.regions().toString());
        assertTrue(ex.decisions().stream().noneMatch(d -> ModuleScope.within(d.module(), "enc.layers.0")),
                ex.decisions().toString());
        assertTrue(ex.notExpressed().isEmpty(), ex.notExpressed().toString());
    }

    /**
     * The module applies one rule to everything a call saves besides its output (the inside of
     * nn.MultiheadAttention has no module calls): the plan as exported gives every such tensor that rule.
     */
    @Test
    void theExpressedPlanAppliesACallsRuleToAllItSaves() {
        Schedule s = transformer;
        int softmax = -1;
        for (TensorInfo t : s.tensors()) if (t.name().equals("/enc/layers.0/self_attn/Softmax")) softmax = t.id();
        PyTorchExport ex = PyTorchExporter.export(Plan.baseline(s).with(softmax, Decision.Swap.auto()));
        Set<String> swapped = new TreeSet<>();
        for (TensorInfo t : s.tensors())
            if (ex.expressed().decision(t.id()) instanceof Decision.Swap) swapped.add(t.name());
        assertTrue(swapped.containsAll(List.of("/enc/layers.0/self_attn/Softmax", "/enc/layers.0/self_attn/Transpose_3",
                "/enc/layers.0/self_attn/Dropout.mask")), swapped.toString());
        assertTrue(swapped.stream().allMatch(n -> n.startsWith("/enc/layers.0/self_attn/")), swapped.toString());
        assertTrue(PlanValidator.problems(ex.expressed()).isEmpty());
    }

    @Test
    void theUnplannedModelGetsAnEmptyPlan() {
        PyTorchExport ex = PyTorchExporter.export(Plan.baseline(resnet18));
        assertTrue(ex.decisions().isEmpty() && ex.regions().isEmpty() && ex.notExpressed().isEmpty());
        assertTrue(ex.source().contains("DECISIONS = [\n]"));
    }

    /** The generated module from its parallel section on. */
    static String wrapSection(String source) {
        int i = source.indexOf("# ------------------------------------------------------------------ the plan's parallel");
        assertTrue(i > 0, "no parallel section");
        return source.substring(i);
    }

    @Test
    void aLayoutAddsTheWrappingThatMatchesIt() throws Exception {
        PyTorchExport ddp = PyTorchExporter.export(Plan.baseline(resnet18), Layout.dataParallel(2));
        assertTrue(ddp.source().contains("PARALLEL = {\"world_size\": 2, \"dp\": 2, \"tp\": 1, \"pp\": 1, "
                + "\"shard\": \"none\""), wrapSection(ddp.source()));
        assertTrue(ddp.source().contains("\"bucket_cap_mb\": 25"));
        assertTrue(ddp.source().contains("FSDP_UNITS = [\n]"), "DDP has no units");
        PyTorchExport zero1 = PyTorchExporter.export(mixed(), Layout.parse(4, null, "zero1"));
        golden("resnet18-zero1-wrap", wrapSection(zero1.source()));
        assertTrue(zero1.source().startsWith(PyTorchExporter.export(mixed()).source()),
                "the plan's part is the module without a layout");
        PyTorchExport fsdp = PyTorchExporter.export(Plan.baseline(resnet18),
                Layout.parse(8, null, "fsdp-full").withOffload(false, true));
        golden("resnet18-fsdp-full-wrap", wrapSection(fsdp.source()));
        List<String> units = ParallelWrap.units(resnet18);
        assertEquals("conv1", units.get(0));
        assertTrue(units.containsAll(List.of("bn1", "layer1.0.conv1", "layer4.1.bn2", "fc")), units.toString());
        assertEquals(units.size(), units.stream().distinct().count());
        for (String u : units) assertTrue(fsdp.source().contains("    \"" + u + "\",\n"), u);
        assertTrue(fsdp.warnings().stream().anyMatch(w -> w.contains("FSDP needs CUDA")), fsdp.warnings().toString());
        PyTorchExport ds = PyTorchExporter.export(Plan.baseline(resnet18), Layout.parse(4, null, "zero3"));
        assertTrue(ds.warnings().stream().anyMatch(w -> w.contains("DeepSpeed's")), ds.warnings().toString());
        for (PyTorchExport ex : List.of(ddp, zero1, fsdp, ds)) compiles(ex.source(), "wrap");
    }

    static void compiles(String source, String name) throws Exception {
        Optional<String> python = python();
        assumeTrue(python.isPresent(), "python3 is not on the PATH: the generated Python is not compiled");
        Path f = dir.resolve(name + ".py");
        Files.writeString(f, source);
        Process pr = new ProcessBuilder(python.get(), "-m", "py_compile", f.toString()).redirectErrorStream(true)
                .start();
        String out = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(pr.waitFor(60, TimeUnit.SECONDS), "py_compile did not finish");
        assertEquals(0, pr.exitValue(), out);
    }

    @Test
    void generatedModulesCompile() throws Exception {
        Optional<String> python = python();
        assumeTrue(python.isPresent(), "python3 is not on the PATH: the generated Python is not compiled");
        for (Plan p : List.of(mixed(), region())) {
            Path f = dir.resolve(p.planner().replace('-', '_') + ".py");
            Files.writeString(f, PyTorchExporter.export(p).source());
            Process pr = new ProcessBuilder(python.get(), "-m", "py_compile", f.toString()).redirectErrorStream(true)
                    .start();
            String out = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(pr.waitFor(60, TimeUnit.SECONDS), "py_compile did not finish");
            assertEquals(0, pr.exitValue(), out);
        }
    }

    static Optional<String> python() {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(d, "python3");
            if (Files.isExecutable(p)) return Optional.of(p.toString());
        }
        return Optional.empty();
    }

    static void golden(String name, String actual) throws IOException {
        String path = "/export/" + name + ".py";
        Path out = Path.of("target", "export-golden", name + ".py");
        Files.createDirectories(out.getParent());
        Files.writeString(out, actual);
        String expected;
        try (InputStream in = PyTorchExporterTest.class.getResourceAsStream(path)) {
            assertNotNull(in, "no golden file " + path + " (the generated text is in " + out + ")");
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!expected.equals(actual)) {
            List<String> e = expected.lines().toList(), a = actual.lines().toList();
            int i = 0;
            while (i < Math.min(e.size(), a.size()) && e.get(i).equals(a.get(i))) i++;
            List<String> where = new ArrayList<>();
            where.add("line " + (i + 1) + ": expected " + (i < e.size() ? e.get(i) : "<end>"));
            where.add("         got      " + (i < a.size() ? a.get(i) : "<end>"));
            throw new AssertionError(name + " differs from " + path + " (new text in " + out + "):\n"
                    + String.join("\n", where));
        }
    }
}

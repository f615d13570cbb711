package memplan.sim;

import memplan.backend.cpu.Gemm;
import memplan.backend.cpu.WinogradConv;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.Attention;
import memplan.ops.Conv2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Flatten;
import memplan.ops.GELU;
import memplan.ops.Input;
import memplan.ops.LayerNorm;
import memplan.ops.Linear;
import memplan.ops.MatMul;
import memplan.ops.ReLU;
import memplan.ops.Softmax;
import memplan.plan.Plan;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuCostModelTest {
    static final ProductDims SMALL = new ProductDims(64, 64, 64, 1), MID = new ProductDims(512, 1024, 1024, 1),
            STAGE = new ProductDims(64, 6272, 576, 1);

    /** A fixed reference CPU: the figures are made up, so nothing here depends on this machine. */
    static final CpuCostModel REF = new CpuCostModel(2e-6, 10e-6, List.of(
            new CpuCostModel.ClassCost(OpCostClass.POINTWISE, null, Phase.FORWARD, 1e-6, 4e9),
            new CpuCostModel.ClassCost(OpCostClass.POINTWISE, null, Phase.BACKWARD, 2e-6, 2e9),
            new CpuCostModel.ClassCost(OpCostClass.POINTWISE, "GELU", Phase.FORWARD, 3e-6, 0.5e9),
            new CpuCostModel.ClassCost(OpCostClass.NORM, null, Phase.FORWARD, 5e-6, 3e9),
            new CpuCostModel.ClassCost(OpCostClass.OPTIMIZER, null, Phase.OPTIMIZER, 1e-6, 4e9)), List.of(
            new CpuCostModel.ProductPoint(OpCostClass.PRODUCT, Phase.FORWARD, SMALL, 10e9),
            new CpuCostModel.ProductPoint(OpCostClass.PRODUCT, Phase.FORWARD, MID, 100e9),
            new CpuCostModel.ProductPoint(OpCostClass.PRODUCT, Phase.BACKWARD, SMALL, 8e9),
            new CpuCostModel.ProductPoint(OpCostClass.CONV, Phase.FORWARD, STAGE, 50e9)));

    @Test
    void aProbedShapeRunsAtItsOwnThroughputAndOthersAtTheInverseDistanceMean() {
        assertEquals(10e9, REF.flopsPerSecond(OpCostClass.PRODUCT, Phase.FORWARD, SMALL), 1);
        assertEquals(100e9, REF.flopsPerSecond(OpCostClass.PRODUCT, Phase.FORWARD, MID), 1);
        // as far on log sizes from both points: their geometric mean
        ProductDims between = new ProductDims(Math.sqrt(64 * 512), Math.sqrt(64 * 1024), Math.sqrt(64 * 1024), 1);
        assertEquals(Math.sqrt(10e9 * 100e9), REF.flopsPerSecond(OpCostClass.PRODUCT, Phase.FORWARD, between),
                1e-6 * 100e9);
        // nearer the small point: closer to its throughput, and within the two
        double near = REF.flopsPerSecond(OpCostClass.PRODUCT, Phase.FORWARD, new ProductDims(80, 80, 80, 1));
        assertTrue(near > 10e9 && near < 11e9, "" + near);
        // a class or phase without points uses the products' (of its phase, else forward)
        assertEquals(8e9, REF.flopsPerSecond(OpCostClass.CONV, Phase.BACKWARD, SMALL), 1);
        assertEquals(10e9, REF.flopsPerSecond(OpCostClass.ATTENTION, Phase.FORWARD, SMALL), 1);
        assertEquals(50e9, REF.flopsPerSecond(OpCostClass.CONV, Phase.FORWARD, new ProductDims(8, 8, 8, 1)), 1);
    }

    @Test
    void aPlainProductTakesItsThroughputFromPointsOfItsOwnPathJavaOrOpenBlas() {
        // 8 x 32 x 32 runs in Java, 8 x 32 x 128 and 8 x 32 x 64 go to OpenBLAS where it loads: interpolating
        // across the two paths mixes the Java kernel's cost with the library call's
        ProductDims java = new ProductDims(8, 32, 32, 1), blas = new ProductDims(8, 32, 128, 1);
        ProductDims query = new ProductDims(8, 32, 64, 1), tiny = new ProductDims(8, 10, 32, 1);
        CpuCostModel m = new CpuCostModel(1e-6, 0, REF.classCosts(), List.of(
                new CpuCostModel.ProductPoint(OpCostClass.PRODUCT, Phase.FORWARD, java, 1e9),
                new CpuCostModel.ProductPoint(OpCostClass.PRODUCT, Phase.FORWARD, blas, 6e9),
                new CpuCostModel.ProductPoint(OpCostClass.CONV, Phase.FORWARD, java, 2e9),
                new CpuCostModel.ProductPoint(OpCostClass.CONV, Phase.FORWARD, blas, 8e9)));
        boolean split = Gemm.runsNative(8, 32, 64);
        assertEquals(split, Gemm.runsNative(8, 32, 128));
        // where both paths are Java (no OpenBLAS), as far from both points: their geometric mean
        assertEquals(split ? 6e9 : Math.sqrt(1e9 * 6e9), m.flopsPerSecond(OpCostClass.PRODUCT, Phase.FORWARD, query),
                1e-6 * 6e9);
        double t = m.flopsPerSecond(OpCostClass.PRODUCT, Phase.FORWARD, tiny);
        if (split) assertEquals(1e9, t, 1);
        else assertTrue(t > 1e9 && t < 6e9, "" + t);
        // convolutions choose their path otherwise: all their points count
        double c = m.flopsPerSecond(OpCostClass.CONV, Phase.FORWARD, query);
        assertEquals(Math.sqrt(2e9 * 8e9), c, 1e-6 * 8e9);
    }

    static Node node(Graph g, String name) {
        return g.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    static Graph mixed() {
        ModelDef.Builder b = ModelDef.builder("mixed");
        String x = b.add("x", new Input(List.of("N", "16"), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        x = b.add("fc", new Linear(16, true), x);
        x = b.add("relu", new ReLU(), x);
        x = b.add("gelu", new GELU(), x);
        x = b.add("ln", new LayerNorm(1e-5), x);
        x = b.add("sm", new Softmax(), x);
        x = b.add("flat", new Flatten(1), x);
        b.add("loss", new CrossEntropy(1), x, y);
        return Graph.instantiate(b.build(), 4, DType.FP32);
    }

    @Test
    void streamingStepsCostTheirTypesOrClassesLineAndFallBackToThePointwiseKernels() {
        Graph g = mixed();
        // ReLU: the pointwise class's line in each phase
        assertEquals(2e-6 + 1e-6 + 8e6 / 4e9, REF.stepSeconds(node(g, "relu"), Phase.FORWARD, 0, 8_000_000), 1e-15);
        assertEquals(2e-6 + 2e-6 + 8e6 / 2e9, REF.stepSeconds(node(g, "relu"), Phase.BACKWARD, 0, 8_000_000),
                1e-15);
        // GELU: its own forward line; its backward (not probed) the class's
        assertEquals(2e-6 + 3e-6 + 8e6 / 0.5e9, REF.stepSeconds(node(g, "gelu"), Phase.FORWARD, 0, 8_000_000),
                1e-15);
        assertEquals(2e-6 + 2e-6 + 8e6 / 2e9, REF.stepSeconds(node(g, "gelu"), Phase.BACKWARD, 0, 8_000_000),
                1e-15);
        // LayerNorm: its class; its backward the class's forward (no backward figure)
        assertEquals(2e-6 + 5e-6 + 1e6 / 3e9, REF.stepSeconds(node(g, "ln"), Phase.BACKWARD, 0, 1_000_000), 1e-15);
        // Softmax: a class without figures, the pointwise kernels'
        assertEquals(2e-6 + 1e-6 + 1e6 / 4e9, REF.stepSeconds(node(g, "sm"), Phase.FORWARD, 0, 1_000_000), 1e-15);
        // a view: the executor's step only, whatever bytes it names
        assertEquals(2e-6, REF.stepSeconds(node(g, "flat"), Phase.FORWARD, 0, 1L << 30), 0);
        // an optimizer update (no node)
        assertEquals(2e-6 + 1e-6 + 1e6 / 4e9, REF.stepSeconds(null, Phase.OPTIMIZER, 100, 1_000_000), 1e-15);
        // a product: its FLOPs at the throughput of its shape ([4,16] x [16,16])
        Node fc = node(g, "fc");
        assertEquals(new ProductDims(4, 16, 16, 1), ProductDims.of(fc));
        double rate = REF.flopsPerSecond(OpCostClass.PRODUCT, Phase.FORWARD, ProductDims.of(fc));
        assertEquals(2e-6 + 4096 / rate, REF.stepSeconds(fc, Phase.FORWARD, 4096, 1_000_000), 1e-15);
    }

    @Test
    void productShapesAreTheProductsTheBackendRuns() {
        ModelDef.Builder b = ModelDef.builder("shapes");
        String x = b.add("x", new Input(List.of("N", "3", "16", "16"), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        String q = b.add("q", new Input(List.of("N", "10", "32"), null));
        String c = b.add("conv", Conv2d.of(8, 3, 2, 1, false), x);
        b.add("att", new Attention(4, true), q, q, q);
        b.add("mm", new MatMul(true), q, q);
        String f = b.add("flat", new Flatten(1), c);
        b.add("loss", new CrossEntropy(1), b.add("fc", new Linear(10, true), f), y);
        Graph g = Graph.instantiate(b.build(), 2, DType.FP32);
        // convolution: out channels x (batch x output pixels) x (in channels x kernel)
        assertEquals(new ProductDims(8, 2 * 8 * 8, 3 * 9, 1), ProductDims.of(node(g, "conv")));
        // attention: per batch and head, sequence x sequence x head width
        assertEquals(new ProductDims(10, 10, 8, 2 * 4), ProductDims.of(node(g, "att")));
        // batched matrix product [2,10,32] x [2,32,10]^T
        assertEquals(new ProductDims(10, 10, 32, 2), ProductDims.of(node(g, "mm")));
        assertEquals(ProductDims.cube(2e6), new ProductDims(100, 100, 100, 1));
        assertEquals(OpCostClass.ATTENTION, OpCostClass.of(node(g, "att").op()));
        assertEquals(OpCostClass.CONV, OpCostClass.of(node(g, "conv").op()));
        assertEquals(OpCostClass.PRODUCT, OpCostClass.of(node(g, "mm").op()));
        assertEquals(OpCostClass.LOSS, OpCostClass.of(node(g, "loss").op()));
        assertEquals(OpCostClass.VIEW, OpCostClass.of(node(g, "flat").op()));
        assertEquals(OpCostClass.OPTIMIZER, OpCostClass.of((Node) null));
        for (OpCostClass k : OpCostClass.values()) assertEquals(k, OpCostClass.ofLabel(k.label()));
    }

    /** A 3x3 stride-1 convolution the backend runs by Winograd's algorithm is priced apart; a thin one is not. */
    @Test
    void winogradConvolutionsAreAClassOfTheirOwn() {
        ModelDef.Builder b = ModelDef.builder("winograd");
        String x = b.add("x", new Input(List.of("N", "64", "28", "28"), null));
        String wide = b.add("wide", Conv2d.of(64, 3, 1, 1, false), x);
        String thin = b.add("thin", Conv2d.of(8, 3, 1, 1, false), wide);
        String strided = b.add("strided", Conv2d.of(64, 3, 2, 1, false), thin);
        b.add("out", new Flatten(1), strided);
        Graph g = Graph.instantiate(b.build(), 8, DType.FP32);
        Node w = node(g, "wide");
        assertEquals(WinogradConv.runs((Conv2d) w.op(), w.inShapes().get(0), w.outShapes().get(0))
                ? OpCostClass.WINOGRAD : OpCostClass.CONV, OpCostClass.of(w));
        assertEquals(System.getProperty("memplan.cpu.winograd", "").equals("off") ? OpCostClass.CONV
                : OpCostClass.WINOGRAD, OpCostClass.of(w), "OpenBLAS is bundled for this platform");
        assertEquals(OpCostClass.CONV, OpCostClass.of(node(g, "thin")), "8 output channels");
        assertEquals(OpCostClass.CONV, OpCostClass.of(node(g, "strided")), "stride 2");
        assertTrue(OpCostClass.WINOGRAD.product());
    }

    @Test
    void rejectsFiguresThatCannotBeRight() {
        List<CpuCostModel.ProductPoint> pts = REF.products();
        assertThrows(IllegalArgumentException.class, () -> new CpuCostModel(-1, 0, REF.classCosts(), pts));
        assertThrows(IllegalArgumentException.class, () -> new CpuCostModel(0, Double.NaN, REF.classCosts(), pts));
        assertThrows(IllegalArgumentException.class, () -> new CpuCostModel.ClassCost(OpCostClass.NORM, null,
                Phase.FORWARD, -1e-6, 1e9));
        assertThrows(IllegalArgumentException.class, () -> new CpuCostModel.ClassCost(OpCostClass.NORM, null,
                Phase.FORWARD, 1e-6, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new CpuCostModel.ProductPoint(OpCostClass.NORM,
                Phase.FORWARD, SMALL, 1e9));
        assertThrows(IllegalArgumentException.class, () -> new ProductDims(0, 1, 1, 1));
        // the figures every prediction falls back on must be there
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CpuCostModel(0, 0,
                REF.classCosts().subList(1, REF.classCosts().size()), pts));
        assertEquals("the model needs the pointwise kernels' forward cost", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new CpuCostModel(0, 0, REF.classCosts(),
                pts.subList(3, 4)));
        assertEquals("the model needs at least one forward product throughput", e.getMessage());
    }

    static Schedule convNet() {
        ModelDef.Builder b = ModelDef.builder("convnet");
        String x = b.add("x", new Input(List.of("N", "3", "16", "16"), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        x = b.add("conv", Conv2d.of(8, 3, 1, 1, false), x);
        x = b.add("relu", new ReLU(), x);
        x = b.add("conv2", Conv2d.of(8, 3, 1, 1, false), x);
        x = b.add("flat", new Flatten(1), x);
        x = b.add("fc", new Linear(10, true), x);
        b.add("loss", new CrossEntropy(1), x, y);
        return TrainingGraph.derive(Graph.instantiate(b.build(), 4, DType.FP32), Optimizer.SGD);
    }

    @Test
    void aBackwardStepWithoutAnInputGradientRunsHalfTheProductFlops() {
        Schedule s = convNet();
        Step first = s.step(s.backwardStep(node(s.graph(), "conv").index()));
        Step second = s.step(s.backwardStep(node(s.graph(), "conv2").index()));
        assertEquals(first.flops() / 2, CpuCostModel.kernelFlops(s, first)); // its input is data
        assertEquals(second.flops(), CpuCostModel.kernelFlops(s, second));
        Step relu = s.step(s.backwardStep(node(s.graph(), "relu").index()));
        assertEquals(relu.flops(), CpuCostModel.kernelFlops(s, relu));
    }

    @Test
    void theSimulatorPredictsEachStepByItsOpClassOnACalibratedCpu() {
        Schedule s = convNet();
        DeviceModel cpu = DeviceModel.calibratedCpu(REF);
        double sum = 0;
        for (Step st : s.steps()) {
            // the first step also pays the iteration's set-up
            double expected = REF.stepSeconds(st.node() >= 0 ? s.graph().nodes().get(st.node()) : null,
                    st.phase(), CpuCostModel.kernelFlops(s, st), st.bytesAccessed()) + (st.index() == 0 ? 10e-6 : 0);
            assertEquals(expected, cpu.stepSeconds(s, st), 0);
            sum += expected;
        }
        SimResult r = Simulator.simulate(Plan.baseline(s), cpu);
        assertEquals(sum, r.iterationSeconds(), 1e-12);
        // the roofline preset predicts something else for the same schedule
        assertTrue(Math.abs(Simulator.simulate(Plan.baseline(s), DeviceModel.preset("cpu")).iterationSeconds()
                - sum) > 1e-6);
        // measured step times still win over the calibration
        Step conv = s.step(s.forwardStep(node(s.graph(), "conv").index()));
        assertEquals(0.5, cpu.withMeasured(Map.of(conv.label(), 0.5)).stepSeconds(s, conv), 0);
        assertEquals(cpu.cpuCosts(), cpu.withCapacity(1L << 20).withLink("pcie4").cpuCosts());
        assertEquals(100e9, cpu.flopsPerSecond(), 0);
        assertEquals(4e9, cpu.memoryBytesPerSecond(), 0);
        assertEquals(3e-6, cpu.launchSeconds(), 1e-18);
    }
}

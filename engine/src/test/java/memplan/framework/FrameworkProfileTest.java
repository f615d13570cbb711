package memplan.framework;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.Conv2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Concat;
import memplan.ops.Dropout;
import memplan.ops.Flatten;
import memplan.ops.GlobalAvgPool;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.Pair;
import memplan.ops.ReLU;
import memplan.ops.Slice;
import memplan.ops.Split;
import memplan.ops.Transpose;
import memplan.plan.Plan;
import memplan.profile.Liveness;
import memplan.profile.MemoryProfile;
import memplan.sim.DeviceModel;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** What each framework profile changes in a training iteration, on models small enough to count. */
class FrameworkProfileTest {
    static final int N = 4;

    /** x[N,16] -> fc1(32) -> ReLU -> Dropout -> fc2(8) -> cross-entropy. */
    static ModelDef mlp() {
        ModelDef.Builder b = ModelDef.builder("mlp");
        b.add("x", new Input(List.of("N", "16"), null));
        b.add("y", new Input(List.of("N"), DType.INT64));
        b.add("fc1", new Linear(32, true), "x");
        b.add("relu", new ReLU(), "fc1");
        b.add("drop", new Dropout(0.5), "relu");
        b.add("fc2", new Linear(8, true), "drop");
        b.add("loss", new CrossEntropy(1), "fc2", "y");
        return b.build();
    }

    /** x[N,64,8,8] -> conv 3x3 -> conv 1x1 -> global average pool -> flatten -> linear -> cross-entropy. */
    static ModelDef cnn() {
        ModelDef.Builder b = ModelDef.builder("cnn");
        b.add("x", new Input(List.of("N", "64", "8", "8"), null));
        b.add("y", new Input(List.of("N"), DType.INT64));
        b.add("c3", new Conv2d(32, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 1, false), "x");
        b.add("c1", new Conv2d(16, Pair.of(1), Pair.of(1), Pair.of(0), Pair.of(1), 1, false), "c3");
        b.add("pool", new GlobalAvgPool(), "c1");
        b.add("flat", new Flatten(1), "pool");
        b.add("fc", new Linear(10, true), "flat");
        b.add("loss", new CrossEntropy(1), "fc", "y");
        return b.build();
    }

    static Schedule derive(ModelDef m, Optimizer o, FrameworkProfile fw) {
        return TrainingGraph.derive(Graph.instantiate(m, N, DType.FP32), o, fw);
    }

    static TensorInfo tensor(Schedule s, String name) {
        return s.tensors().stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no tensor " + name));
    }

    static Step step(Schedule s, String label) {
        return s.steps().stream().filter(t -> t.label().equals(label)).findFirst()
                .orElseThrow(() -> new AssertionError("no step " + label));
    }

    static long gradientBytes(Schedule s) {
        return s.tensors().stream().filter(t -> t.kind() == TensorKind.PARAM_GRAD).mapToLong(TensorInfo::bytes).sum();
    }

    static TensorInfo dropoutMask(Schedule s) {
        return s.tensors().stream().filter(t -> t.kind() == TensorKind.AUX && t.name().startsWith("drop"))
                .findFirst().orElseThrow();
    }

    @Test
    void dropoutKeepsAFloatMaskOnTheCpuAndAByteMaskOnCuda() {
        assertEquals(4L * N * 32, dropoutMask(derive(mlp(), Optimizer.SGD, FrameworkProfile.PYTORCH_CPU)).bytes());
        assertEquals((long) N * 32, dropoutMask(derive(mlp(), Optimizer.SGD, FrameworkProfile.PYTORCH_CUDA)).bytes());
        assertEquals((long) N * 32, dropoutMask(derive(mlp(), Optimizer.SGD, FrameworkProfile.GENERIC)).bytes());
    }

    /**
     * Two temporaries of the parameter it updates, and the previous parameter's denominator, which the loop lets go
     * only when this one's is made.
     */
    @Test
    void singleTensorAdamHoldsTwoTemporariesOfTheParameterItUpdatesAndThePreviousDenominator() {
        Schedule s = derive(mlp(), Optimizer.ADAM, FrameworkProfile.PYTORCH_CPU);
        Step up = step(s, "update fc1.weight");
        assertTrue(up.workspace() >= 0);
        assertEquals(2L * 32 * 16 * 4, s.tensor(up.workspace()).bytes(), "the first parameter: no previous one");
        assertEquals(2L * 8 * 4 + 8 * 32 * 4, s.tensor(step(s, "update fc2.bias").workspace()).bytes(),
                "fc2.bias after fc2.weight [8, 32]");
        assertEquals(-1,
                step(derive(mlp(), Optimizer.SGD, FrameworkProfile.PYTORCH_CPU), "update fc1.weight").workspace(),
                "SGD with momentum updates in place");
        assertEquals(-1,
                step(derive(mlp(), Optimizer.ADAM, FrameworkProfile.GENERIC), "update fc1.weight").workspace());
    }

    @Test
    void foreachAdamHoldsTemporariesForAllParametersAtOnce() {
        Schedule s = derive(mlp(), Optimizer.ADAM,
                FrameworkProfile.PYTORCH_CPU.withOptimizerForm(OptimizerForm.FOREACH));
        long params = (32 * 16 + 32 + 8 * 32 + 8) * 4L;
        List<Step> updates = s.steps().stream().filter(t -> t.label().startsWith("update ")).toList();
        assertEquals(2 * params, s.tensor(updates.get(0).workspace()).bytes());
        for (Step u : updates.subList(1, updates.size())) assertEquals(-1, u.workspace());
        MemoryProfile single = MemoryProfile.of(derive(mlp(), Optimizer.ADAM, FrameworkProfile.PYTORCH_CPU));
        assertTrue(MemoryProfile.of(s).phasePeak(Phase.OPTIMIZER) > single.phasePeak(Phase.OPTIMIZER));
    }

    @Test
    void weightGradientsLiveUntilZeroGradAfterTheWholeStep() {
        Schedule s = derive(mlp(), Optimizer.SGD, FrameworkProfile.PYTORCH_CPU);
        Step last = s.step(s.stepCount() - 1);
        assertEquals("zero_grad", last.label());
        Liveness live = Liveness.of(s);
        for (TensorInfo t : s.tensors())
            if (t.kind() == TensorKind.PARAM_GRAD) assertEquals(last.index(), live.last(t.id()), t.name());
        long grads = gradientBytes(s);
        long persistent = s.tensors().stream().filter(t -> t.kind().persistent() || t.kind() == TensorKind.DATA)
                .mapToLong(TensorInfo::bytes).sum();
        assertEquals(persistent + grads, MemoryProfile.of(s).phasePeak(Phase.OPTIMIZER));
        Schedule g = derive(mlp(), Optimizer.SGD, FrameworkProfile.GENERIC);
        assertTrue(g.steps().stream().noneMatch(t -> t.label().equals("zero_grad")));
    }

    @Test
    void zerosKeepsGradientsAllocatedAndTheSimulatorAgrees() {
        Schedule s = derive(cnn(), Optimizer.ADAM, FrameworkProfile.PYTORCH_CPU.withZeroGrad(ZeroGrad.ZEROS));
        Liveness live = Liveness.of(s);
        for (TensorInfo t : s.tensors())
            if (t.kind() == TensorKind.PARAM_GRAD) {
                assertEquals(-1, live.first(t.id()), t.name());
                assertEquals(s.stepCount(), live.last(t.id()), t.name());
            }
        long none = MemoryProfile.of(derive(cnn(), Optimizer.ADAM, FrameworkProfile.PYTORCH_CPU))
                .phasePeak(Phase.FORWARD);
        long grads = gradientBytes(s);
        assertEquals(none + grads, MemoryProfile.of(s).phasePeak(Phase.FORWARD), "the gradients exist during forward");
        assertEquals(MemoryProfile.of(s).peakBytes(),
                Simulator.simulate(Plan.baseline(s), DeviceModel.preset("h100")).peakBytes());
    }

    @Test
    void onednnConvolutionReordersItsWeightAndLargerActivationUnlessPointwise() {
        Schedule s = derive(cnn(), Optimizer.SGD, FrameworkProfile.PYTORCH_CPU);
        long w = 32L * 64 * 9, in = (long) N * 64 * 64;
        assertEquals((w + in) * 4, s.tensor(step(s, "c3").workspace()).bytes());
        assertEquals(-1, step(s, "c1").workspace(), "an unstrided 1x1 convolution runs as a GEMM");
        // backward: the reordered output gradient and input (N*64*64 + N*32*64) outweigh the blocked weight gradient
        assertEquals((in + (long) N * 32 * 64) * 4, s.tensor(step(s, "c3 backward").workspace()).bytes());
        assertEquals(-1, step(s, "c1 backward").workspace());
        Schedule g = derive(cnn(), Optimizer.SGD, FrameworkProfile.GENERIC);
        assertNotEquals(s.tensor(step(s, "c3").workspace()).bytes(), g.tensor(step(g, "c3").workspace()).bytes());
    }

    @Test
    void averagePoolingKeepsItsInputInPyTorch() {
        for (FrameworkProfile fw : List.of(FrameworkProfile.PYTORCH_CPU, FrameworkProfile.GENERIC)) {
            Schedule s = derive(cnn(), Optimizer.SGD, fw);
            int c1 = tensor(s, "c1").id();
            boolean read = Arrays.stream(step(s, "pool backward").reads()).anyMatch(t -> t == c1);
            assertEquals(fw != FrameworkProfile.GENERIC, read, fw.name());
        }
    }

    @Test
    void crossEntropyBackwardHoldsALogitsSizedTemporaryInPyTorch() {
        Schedule s = derive(mlp(), Optimizer.SGD, FrameworkProfile.PYTORCH_CPU);
        assertEquals(4L * N * 8, s.tensor(step(s, "loss backward").workspace()).bytes());
        assertEquals(-1, step(derive(mlp(), Optimizer.SGD, FrameworkProfile.GENERIC), "loss backward").workspace());
    }

    @Test
    void namesParse() {
        assertSame(FrameworkProfile.PYTORCH_CUDA, FrameworkProfile.parse("PyTorch-CUDA"));
        assertEquals(OptimizerForm.FOREACH, OptimizerForm.parse("foreach"));
        assertEquals(ZeroGrad.ZEROS, ZeroGrad.parse("zeros"));
        assertThrows(IllegalArgumentException.class, () -> FrameworkProfile.parse("jax"));
    }

    /**
     * x[N,16] -> fc0(32) -> Split [16, 16] -> concat(part 0, fc1(part 1) (16)) -> Slice [0, 24) -> fc2(8) -> loss:
     * ShuffleNetV2's chunk, then a narrowing slice.
     */
    static ModelDef sliced() {
        ModelDef.Builder b = ModelDef.builder("sliced");
        b.add("x", new Input(List.of("N", "16"), null));
        b.add("y", new Input(List.of("N"), DType.INT64));
        b.add("fc0", new Linear(32, true), "x");
        b.add("split", new Split(1, List.of(16, 16)), "fc0");
        b.add("fc1", new Linear(16, true), "split:1");
        b.add("cat", new Concat(1), "split:0", "fc1");
        b.add("narrow", new Slice(1, 0, 24), "cat");
        b.add("fc2", new Linear(8, true), "narrow");
        b.add("loss", new CrossEntropy(1), "fc2", "y");
        return b.build();
    }

    @Test
    void slicesAreViewsInPyTorchSoASavedPartKeepsTheWholeTensor() {
        Schedule generic = derive(sliced(), Optimizer.SGD, FrameworkProfile.GENERIC);
        Schedule torch = derive(sliced(), Optimizer.SGD, FrameworkProfile.PYTORCH_CPU);
        // generic: fc1 saves its 16-wide copy of part 1, fc2 its 24-wide copy of the slice (plus the loss's logits)
        long logits = 4L * N * 8;
        assertEquals(4L * N * (16 + 24) + logits, MemoryProfile.of(generic).savedBytes());
        // PyTorch: fc1's input is a view of fc0's 32-wide output, fc2's of the 32-wide concat: both kept whole
        assertEquals(4L * N * (32 + 32) + logits, MemoryProfile.of(torch).savedBytes());
        assertTrue(torch.steps().stream().noneMatch(st -> st.label().equals("split") || st.label().equals("narrow")),
                "views run no forward step");
        assertTrue(generic.steps().stream().anyMatch(st -> st.label().equals("split")));
        // backward still makes the gradient of the split tensor from the parts' gradients
        assertTrue(torch.steps().stream().anyMatch(st -> st.label().equals("split backward")));
    }

    /** A depthwise 3x3 convolution on x[N,32,8,8], or on x[N,8,8,32] permuted to NCHW (ConvNeXt's layout). */
    static ModelDef depthwise(boolean permuted) {
        ModelDef.Builder b = ModelDef.builder("dw");
        b.add("x", new Input(permuted ? List.of("N", "8", "8", "32") : List.of("N", "32", "8", "8"), null));
        b.add("y", new Input(List.of("N"), DType.INT64));
        String in = "x";
        if (permuted) {
            b.add("nchw", new Transpose(List.of(0, 3, 1, 2)), "x");
            in = "nchw";
        }
        b.add("dw", new Conv2d(32, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 32, true), in);
        b.add("relu", new ReLU(), "dw");
        b.add("pool", new GlobalAvgPool(), "relu");
        b.add("flat", new Flatten(1), "pool");
        b.add("fc", new Linear(10, true), "flat");
        b.add("loss", new CrossEntropy(1), "fc", "y");
        return b.build();
    }

    @Test
    void depthwiseConvolutionBackwardOnChannelsLastInputHoldsPartialSumsPerWeight() {
        Schedule cl = derive(depthwise(true), Optimizer.SGD, FrameworkProfile.PYTORCH_CPU);
        Graph g = Graph.instantiate(depthwise(true), N, DType.FP32);
        int dwOut = g.nodes().stream().filter(n -> n.name().equals("dw")).findFirst().orElseThrow().outputs()[0];
        assertTrue(FrameworkProfile.PYTORCH_CPU.channelsLast(g)[dwOut], "a convolution keeps its input's layout");
        Step back = step(cl, "dw backward");
        assertEquals(4L * (32 * 9 * 256 + 32 * 16 + 32), cl.tensor(back.workspace()).bytes());
        // the same convolution on a contiguous NCHW input keeps the rule of other convolutions: input + output
        Schedule nchw = derive(depthwise(false), Optimizer.SGD, FrameworkProfile.PYTORCH_CPU);
        assertEquals(4L * 2 * N * 32 * 8 * 8, nchw.tensor(step(nchw, "dw backward").workspace()).bytes());
        // the generic profile knows no layouts
        assertFalse(FrameworkProfile.GENERIC.channelsLast(g)[dwOut]);
    }
}

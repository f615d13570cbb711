package memplan.train;

import memplan.backend.cpu.CpuBackend;
import memplan.exec.Executor;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunConfigException;
import memplan.exec.RunResult;
import memplan.exec.WeightInit;
import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.graph.GraphException;
import memplan.graph.Value;
import memplan.graph.ValueKind;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.CrossEntropy;
import memplan.ops.GELU;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.MatMul;
import memplan.plan.Plan;
import memplan.profile.Liveness;
import memplan.profile.MemoryProfile;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Frozen parameters, LoRA, gradient accumulation, 8-bit optimizer state and NF4 weights: exact bytes and runs. */
class TrainingSetupTest {
    static final DeviceModel CPU = DeviceModel.preset("cpu");

    /** x [N, 64] -> fc1 Linear(100) -> GELU -> blk.q_proj Linear(64) -> GELU -> head Linear(10) -> loss. */
    static ModelDef mlp() {
        ModelDef.Builder b = ModelDef.builder("mlp3");
        b.add("x", new Input(List.of("N", "64"), null));
        b.add("y", new Input(List.of("N"), DType.INT64));
        b.add("fc1", new Linear(100, true), "x");
        b.add("act1", new GELU(), "fc1");
        b.add("blk.q_proj", new Linear(64, true), "act1");
        b.add("act2", new GELU(), "blk.q_proj");
        b.add("head", new Linear(10, true), "act2");
        b.add("loss", new CrossEntropy(-1), "head", "y");
        return b.build();
    }

    static Schedule derive(ModelDef m, int batch, Optimizer o, TrainingSetup setup) {
        return TrainingGraph.derive(Graph.instantiate(m, batch, DType.FP32), o, FrameworkProfile.GENERIC, setup);
    }

    static TensorInfo tensor(Schedule s, String name) {
        for (TensorInfo t : s.tensors()) if (t.name().equals(name)) return t;
        return null;
    }

    static long bytesOf(Schedule s, TensorKind kind) {
        long n = 0;
        for (TensorInfo t : s.tensors()) if (t.kind() == kind) n += t.bytes();
        return n;
    }

    static TrainingSetup frozen(String... patterns) {
        return TrainingSetup.DEFAULT.withFrozen(FrozenParams.of(List.of(patterns)));
    }

    @Test
    void patternsMatchGlobsAndModulePrefixesOnDottedNames() {
        assertTrue(FrozenParams.matches("model.layers.0", "model.layers.0.self_attn.q_proj.weight"));
        assertFalse(FrozenParams.matches("model.layers.1", "model.layers.10.mlp.up_proj.weight"));
        assertTrue(FrozenParams.matches("model.layers.*.self_attn.*", "model.layers.3.self_attn.k_proj.weight"));
        assertTrue(FrozenParams.matches("*.q_proj.weight", "model.layers.31.self_attn.q_proj.weight"));
        assertFalse(FrozenParams.matches("*.q_proj.weight", "model.layers.31.self_attn.q_proj.bias"));
        assertTrue(FrozenParams.matches("h?.attn.q.*", "h0.attn.q.bias"));
        LoraConfig c = LoraConfig.parse("r=2,targets=qkv,self_attn.v_proj");
        assertTrue(c.targets("/blocks/blocks.0/qkv/MatMul"), "an ONNX export scope names its module");
        assertTrue(c.targets("model.layers.7.self_attn.v_proj"));
        assertFalse(c.targets("model.layers.7.self_attn.q_proj"));
        assertFalse(c.targets("/blocks/blocks.0/qkv_out/MatMul"));
        FrozenParams lora = LoraConfig.FREEZES;
        assertTrue(lora.isFrozen("model.layers.0.self_attn.q_proj.weight"));
        assertFalse(lora.isFrozen("model.layers.0.self_attn.q_proj.lora_A.weight"));
        assertFalse(lora.isFrozen("model.layers.0.self_attn.q_proj.lora_B.weight"));
    }

    @Test
    void frozenPrefixHasNoBackwardNoGradientNoState() {
        ModelDef m = mlp();
        Schedule s = derive(m, 8, Optimizer.ADAM, frozen("fc1"));
        Graph g = s.graph();
        // fc1 reads only data and frozen weights: no backward at all, and its GELU's backward is not needed either
        assertEquals(-1, s.backwardStep(g.node("fc1").index()));
        assertEquals(-1, s.backwardStep(g.node("act1").index()));
        assertNull(tensor(s, "grad(fc1.weight)"));
        assertNull(tensor(s, "fc1.weight.exp_avg"));
        // q_proj's weight still trains, so it keeps its input; its input gradient is not wanted
        assertNotNull(tensor(s, "grad(blk.q_proj.weight)"));
        assertNull(tensor(s, "grad(act1)"));
        // state: Adam's two fp32 tensors for q_proj (100x64+64) and head (64x10+10) only
        long trainable = 100 * 64 + 64 + 64 * 10 + 10;
        assertEquals(trainable, s.trainableParameters());
        assertEquals(2 * 4 * trainable, bytesOf(s, TensorKind.OPTIMIZER_STATE));
        assertEquals(4 * trainable, bytesOf(s, TensorKind.PARAM_GRAD));
        // the weights themselves stay
        assertEquals(4L * (64 * 100 + 100 + trainable), bytesOf(s, TensorKind.PARAM));
    }

    @Test
    void frozenMiddleLayerPassesInputGradientsButKeepsNoInput() {
        Schedule s = derive(mlp(), 8, Optimizer.SGD, frozen("blk.q_proj"));
        Graph g = s.graph();
        Step back = s.step(s.backwardStep(g.node("blk.q_proj").index()));
        int input = s.tensorOfValue(g.node("act1").outputs()[0]);
        int weight = s.tensorOfValue(value(g, "blk.q_proj.weight").id());
        // grad(act1) is made (fc1 below still trains) from the weight; act1's output itself is not read
        assertTrue(contains(back.writes(), s.gradOfValue(g.node("act1").outputs()[0])));
        assertTrue(contains(back.reads(), weight));
        assertFalse(contains(back.reads(), input));
        Liveness l = Liveness.of(s);
        assertEquals(s.forwardStep(g.node("blk.q_proj").index()), l.last(input),
                "act1's output dies after the forward step that reads it");
        // unfrozen, the same backward keeps it
        Schedule full = derive(mlp(), 8, Optimizer.SGD, TrainingSetup.DEFAULT);
        int in2 = full.tensorOfValue(full.graph().node("act1").outputs()[0]);
        assertTrue(contains(full.step(full.backwardStep(full.graph().node("blk.q_proj").index())).reads(), in2));
        long saved = MemoryProfile.of(full).savedBytes() - MemoryProfile.of(s).savedBytes();
        assertEquals(8 * 100 * 4, saved, "exactly act1's output [8x100] fp32 is no longer saved");
    }

    @Test
    void matmulWithConstantOperandKeepsOnlyTheOther() {
        ModelDef.Builder b = ModelDef.builder("mm");
        b.add("a", new Input(List.of("N", "4", "8"), null));
        b.add("k", new Input(List.of("N", "8", "6"), null));
        b.add("pa", new Linear(8, false), "a");
        b.add("mm", new MatMul(false), "pa", "k");
        b.add("head", new Linear(3, false), "mm");
        b.add("t", new Input(List.of("N", "4"), DType.INT64));
        b.add("loss", new CrossEntropy(-1), "head", "t");
        Schedule s = derive(b.build(), 2, Optimizer.SGD, TrainingSetup.DEFAULT);
        Step back = s.step(s.backwardStep(s.graph().node("mm").index()));
        int pa = s.tensorOfValue(s.graph().node("pa").outputs()[0]);
        int k = s.tensorOfValue(s.graph().node("k").outputs()[0]);
        assertTrue(contains(back.reads(), k), "grad(pa) needs k");
        assertFalse(contains(back.reads(), pa), "k is data and wants no gradient, so pa is not kept");
    }

    @Test
    void everythingFrozenOrUnknownNamesAreModelErrors() {
        GraphException all = assertThrows(GraphException.class,
                () -> derive(mlp(), 2, Optimizer.ADAM, frozen("*")));
        assertTrue(all.getMessage().contains("nothing would be trained"), all.getMessage());
        GraphException none = assertThrows(GraphException.class,
                () -> derive(mlp(), 2, Optimizer.ADAM, frozen("fc9")));
        assertTrue(none.getMessage().contains("'fc9' names no parameter of mlp3"), none.getMessage());
        assertTrue(none.getMessage().contains("fc1.weight"), none.getMessage());
    }

    @Test
    void loraAddsPeftAdaptersAndTrainsOnlyThem() {
        LoraConfig c = LoraConfig.parse("r=4,alpha=16,targets=q_proj,head");
        assertEquals(4.0, c.scale());
        ModelDef m = c.apply(mlp());
        assertEquals(List.of("act1"), m.layer("blk.q_proj.lora_A").inputs());
        assertEquals(List.of("blk.q_proj.lora_add"), m.layer("act2").inputs(), "consumers read the adapted sum");
        assertEquals(List.of("blk.q_proj", "blk.q_proj.lora_scale"), m.layer("blk.q_proj.lora_add").inputs());
        assertEquals(List.of("head.lora_add", "y"), m.layer("loss").inputs());
        Schedule s = derive(m, 8, Optimizer.ADAM, TrainingSetup.DEFAULT.withFrozen(LoraConfig.FREEZES));
        Graph g = s.graph();
        assertEquals(List.of(4, 100), dims(value(g, "blk.q_proj.lora_A.weight")));
        assertEquals(List.of(64, 4), dims(value(g, "blk.q_proj.lora_B.weight")));
        assertEquals(List.of(4, 64), dims(value(g, "head.lora_A.weight")));
        assertEquals(List.of(10, 4), dims(value(g, "head.lora_B.weight")));
        long adapters = 4 * 100 + 64 * 4 + 4 * 64 + 10 * 4;
        assertEquals(adapters, s.trainableParameters());
        assertEquals(2 * 4 * adapters, bytesOf(s, TensorKind.OPTIMIZER_STATE));
        assertEquals(4 * adapters, bytesOf(s, TensorKind.PARAM_GRAD));
        // fc1 below the first adapter: no backward; the base q_proj's backward passes no gradient back either
        assertEquals(-1, s.backwardStep(g.node("fc1").index()));
        assertEquals(-1, s.backwardStep(g.node("blk.q_proj").index()));
        // saved, as peft: lora_A keeps its input (act1's output), lora_B keeps lora_A's [8x4] output
        Step bA = s.step(s.backwardStep(g.node("blk.q_proj.lora_A").index()));
        Step bB = s.step(s.backwardStep(g.node("blk.q_proj.lora_B").index()));
        assertTrue(contains(bA.reads(), s.tensorOfValue(g.node("act1").outputs()[0])));
        int aOut = s.tensorOfValue(g.node("blk.q_proj.lora_A").outputs()[0]);
        assertTrue(contains(bB.reads(), aOut));
        assertEquals(8 * 4 * 4, s.tensor(aOut).bytes());
    }

    @Test
    void loraErrorsNameTheProblem() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.parse("r=0")).getMessage()
                .contains("at least 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.parse("r=x")).getMessage()
                .contains("whole number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.parse("rank=4,beta=2"))
                .getMessage().contains("unknown LoRA key 'beta'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.parse("q_proj")).getMessage()
                .contains("not key=value"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.parse("dropout=1")).getMessage()
                .contains("[0, 1)"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraConfig.parse("r=4,targets=o_proj,v_proj").apply(mlp()));
        assertTrue(e.getMessage().contains("targets o_proj, v_proj name no Linear layer of mlp3"), e.getMessage());
        assertTrue(e.getMessage().contains("fc1, blk.q_proj, head"), e.getMessage());
    }

    @Test
    void loraDropoutKeepsItsOutputAndMask() {
        ModelDef m = LoraConfig.parse("r=2,targets=q_proj,dropout=0.1").apply(mlp());
        assertEquals(List.of("blk.q_proj.lora_dropout"), m.layer("blk.q_proj.lora_A").inputs());
        Schedule s = derive(m, 8, Optimizer.SGD, TrainingSetup.DEFAULT.withFrozen(LoraConfig.FREEZES));
        Step bA = s.step(s.backwardStep(s.graph().node("blk.q_proj.lora_A").index()));
        assertTrue(contains(bA.reads(), s.tensorOfValue(s.graph().node("blk.q_proj.lora_dropout").outputs()[0])));
    }

    @Test
    void eightBitAdamStateIsOneBytePerElementPlusOneConstantPer2048() {
        Schedule s = derive(mlp(), 4, Optimizer.ADAM, TrainingSetup.DEFAULT
                .withOptimizerStates(OptimizerStates.BLOCKWISE_8BIT));
        // fc1.weight 6400 elements (>= 4096): 6400 bytes + ceil(6400/2048) = 4 fp32 absmax per state
        assertEquals(DType.UINT8, tensor(s, "fc1.weight.exp_avg").dtype());
        assertEquals(6400, tensor(s, "fc1.weight.exp_avg").bytes());
        assertEquals(16, tensor(s, "fc1.weight.exp_avg.absmax").bytes());
        assertEquals(16, tensor(s, "fc1.weight.exp_avg_sq.absmax").bytes());
        // biases and head.weight (640) are under bitsandbytes' min_8bit_size 4096: fp32 state
        assertEquals(DType.FP32, tensor(s, "head.weight.exp_avg").dtype());
        assertNull(tensor(s, "head.weight.exp_avg.absmax"));
        long big = 6400 + 6400; // fc1.weight, blk.q_proj.weight
        long small = 100 + 64 + 640 + 10;
        assertEquals(2 * (big + 4 * (4 + 4)) + 2 * 4 * small, bytesOf(s, TensorKind.OPTIMIZER_STATE));
        assertEquals(6400 + 4 * 4, OptimizerStates.BLOCKWISE_8BIT.stateBytes(6400));
        assertEquals(4 * 4095, OptimizerStates.BLOCKWISE_8BIT.stateBytes(4095));
        assertEquals(4096 + 4 * 2, OptimizerStates.BLOCKWISE_8BIT.stateBytes(4096));
        assertEquals(4097 + 4 * 3, OptimizerStates.BLOCKWISE_8BIT.stateBytes(4097));
        // one fused kernel: no Adam temporaries even in the PyTorch profile
        Schedule pt = TrainingGraph.derive(Graph.instantiate(mlp(), 4, DType.FP32), Optimizer.ADAM,
                FrameworkProfile.PYTORCH_CPU,
                TrainingSetup.DEFAULT.withOptimizerStates(OptimizerStates.BLOCKWISE_8BIT));
        for (Step st : pt.steps()) if (st.phase() == Phase.OPTIMIZER) assertEquals(-1, st.workspace(), st.label());
        assertThrows(IllegalArgumentException.class, () -> derive(mlp(), 4, Optimizer.SGD,
                TrainingSetup.DEFAULT.withOptimizerStates(OptimizerStates.BLOCKWISE_8BIT)));
    }

    @Test
    void nf4StoresFrozenLinearWeightsInHalfAByteWithOneConstantPer64() {
        TrainingSetup setup = TrainingSetup.DEFAULT.withFrozen(LoraConfig.FREEZES).withBaseWeights(BaseWeights.NF4);
        Schedule s = derive(LoraConfig.parse("r=4,targets=fc1,q_proj").apply(mlp()), 8, Optimizer.ADAM, setup);
        TensorInfo w = tensor(s, "fc1.weight");
        assertEquals(DType.UINT8, w.dtype());
        assertEquals(3200, w.bytes(), "6400 weights, two per byte");
        assertEquals(400, tensor(s, "fc1.weight.absmax").bytes(), "ceil(6400/64) = 100 fp32 constants");
        assertEquals(3200, tensor(s, "blk.q_proj.weight").bytes());
        // biases, the adapters and the output layer stay fp32
        assertEquals(400, tensor(s, "fc1.bias").bytes());
        assertEquals(4 * 640, tensor(s, "head.weight").bytes());
        assertEquals(4 * 4 * 64, tensor(s, "fc1.lora_A.weight").bytes());
        // the forward step dequantises the weight into fp32 while it runs; backward again for the input gradient
        Step fwd = s.step(s.forwardStep(s.graph().node("blk.q_proj").index()));
        assertEquals(4 * 6400, s.tensor(fwd.workspace()).bytes());
        assertTrue(contains(fwd.reads(), tensor(s, "blk.q_proj.weight.absmax").id()));
        Step back = s.step(s.backwardStep(s.graph().node("blk.q_proj").index()));
        assertEquals(4 * 6400, s.tensor(back.workspace()).bytes());
        // fc1's base needs no input gradient (its input is data): no backward at all
        assertEquals(-1, s.backwardStep(s.graph().node("fc1").index()));
        // the weights' share of memory: 2 x (3200 + 400) quantised + the fp32 rest
        long fp32 = 4L * (100 + 64 + 640 + 10 + 4 * 64 + 100 * 4 + 4 * 100 + 64 * 4);
        assertEquals(2 * (3200 + 400) + fp32, bytesOf(s, TensorKind.PARAM) + bytesOf(s, TensorKind.BUFFER));
    }

    @Test
    void autocastSavesLowTypeCopiesAndKeepsFp32WeightsAndGradients() {
        Schedule s = derive(mlp(), 8, Optimizer.ADAM, TrainingSetup.DEFAULT.withAmp(Amp.BF16));
        Graph g = s.graph();
        // fc1 casts its fp32 data input and its weights to bf16 copies; its output and GELU's are bf16
        assertEquals(DType.BF16, tensor(s, "fc1.autocast_input0").dtype());
        assertEquals(8 * 64 * 2, tensor(s, "fc1.autocast_input0").bytes());
        assertEquals(100 * 64 * 2, tensor(s, "fc1.weight.autocast").bytes());
        assertEquals(8 * 100 * 2, s.tensor(s.tensorOfValue(g.node("fc1").outputs()[0])).bytes());
        assertEquals(DType.BF16, s.tensor(s.tensorOfValue(g.node("act1").outputs()[0])).dtype());
        // q_proj's input is already bf16: no copy of it
        assertNull(tensor(s, "blk.q_proj.autocast_input0"));
        // the loss runs in fp32: its log-softmax is fp32
        assertEquals(8 * 10 * 4, tensor(s, "loss.log_softmax").bytes());
        // fc1's backward keeps the bf16 copy of x (for its weight gradient), not x; weights, gradients and
        // state stay fp32
        Step back = s.step(s.backwardStep(g.node("fc1").index()));
        assertTrue(contains(back.reads(), tensor(s, "fc1.autocast_input0").id()));
        assertFalse(contains(back.reads(), s.tensorOfValue(g.node("x").outputs()[0])));
        assertEquals(4L * 100 * 64, tensor(s, "grad(fc1.weight)").bytes());
        assertEquals(4L * 100 * 64, tensor(s, "fc1.weight.exp_avg").bytes());
        assertEquals(DType.BF16, tensor(s, "grad(act1)").dtype());
        // the weight gradient is made in bf16 and cast up: a 2-byte-per-weight temporary in each backward step
        assertEquals(2L * (64 * 100 + 64), s.tensor(s.step(s.backwardStep(g.node("blk.q_proj").index()))
                .workspace()).bytes());
        // the trainable weights' copies stay cached until the forward pass ends (the loss step reads them)
        Step lossStep = s.step(s.forwardStep(g.node("loss").index()));
        assertTrue(contains(lossStep.reads(), tensor(s, "fc1.bias.autocast").id()));
        // saved bytes: at a batch where activations outweigh the weights' bf16 copies, fewer than fp32's
        assertTrue(MemoryProfile.of(derive(mlp(), 512, Optimizer.ADAM, TrainingSetup.DEFAULT.withAmp(Amp.BF16)))
                .savedBytes() < MemoryProfile.of(derive(mlp(), 512, Optimizer.ADAM, TrainingSetup.DEFAULT))
                .savedBytes());
    }

    @Test
    void gradientAccumulationKeepsGradientsThroughTheMicroBatchAndCountsItsTimeKTimes() {
        Schedule one = derive(mlp(), 8, Optimizer.SGD, TrainingSetup.DEFAULT);
        Schedule four = derive(mlp(), 8, Optimizer.SGD, TrainingSetup.DEFAULT.withMicroBatches(4));
        assertEquals(4, four.microBatches());
        TensorInfo grad = tensor(four, "grad(fc1.weight)");
        assertTrue(four.persistent(grad));
        assertFalse(one.persistent(tensor(one, "grad(fc1.weight)")));
        // each backward step makes its weight gradients in a temporary and adds them in
        Step back = four.step(four.backwardStep(four.graph().node("blk.q_proj").index()));
        assertEquals(4L * (100 * 64 + 64), four.tensor(back.workspace()).bytes());
        assertEquals(-1, one.step(one.backwardStep(one.graph().node("blk.q_proj").index())).workspace());
        // the peak: every weight gradient is live from the first forward step
        MemoryProfile p1 = MemoryProfile.of(one), p4 = MemoryProfile.of(four);
        assertTrue(p4.peakBytes() > p1.peakBytes());
        assertEquals(p1.phasePeak(Phase.FORWARD) + bytesOf(four, TensorKind.PARAM_GRAD),
                p4.phasePeak(Phase.FORWARD));
        // time: four forward and backward passes, one optimizer step
        SimResult r1 = Simulator.simulate(Plan.baseline(one), CPU), r4 = Simulator.simulate(Plan.baseline(four), CPU);
        double opt = 0;
        for (Step st : one.steps()) if (st.phase() == Phase.OPTIMIZER) opt += CPU.stepSeconds(st);
        double passTime = 0;
        for (Step st : four.steps()) if (st.phase() != Phase.OPTIMIZER) passTime += CPU.stepSeconds(st);
        assertEquals(4 * passTime + opt, r4.iterationSeconds(), 1e-12);
        assertEquals(r4.baselineSeconds(), r4.iterationSeconds(), 1e-12);
        assertTrue(r1.iterationSeconds() < r4.iterationSeconds());
    }

    @Test
    void cpuRunOfAccumulationMatchesItsPredictionAndIsDeterministic() {
        Schedule s = derive(mlp(), 4, Optimizer.SGD, TrainingSetup.DEFAULT.withMicroBatches(3));
        RunResult a = run(s, false), b = run(s, false);
        assertEquals(a.weightsSha256(), b.weightsSha256());
        assertEquals(a.iterations().get(0).predictedPeakBytes(), a.iterations().get(0).measuredPeakBytes());
        RunResult single = run(derive(mlp(), 4, Optimizer.SGD, TrainingSetup.DEFAULT), false);
        assertNotEquals(single.weightsSha256(), a.weightsSha256(), "three micro-batches move the weights further");
    }

    @Test
    void cpuRunLeavesFrozenWeightsBitIdenticalAndLoraStartsAsTheBaseModel() {
        ModelDef m = mlp();
        Schedule base = derive(m, 4, Optimizer.ADAM, TrainingSetup.DEFAULT);
        Schedule frozenRun = derive(m, 4, Optimizer.ADAM, frozen("fc1", "blk"));
        RunResult full = run(base, true), fr = run(frozenRun, true);
        List<Value> params = base.graph().values().stream().filter(v -> v.kind() == ValueKind.PARAM).toList();
        for (int i = 0; i < params.size(); i++) {
            String n = params.get(i).name();
            float[] initial = WeightInit.initial(frozenRun.graph(), params.get(i), 5);
            boolean isFrozen = n.startsWith("fc1.") || n.startsWith("blk.");
            if (isFrozen) assertArrayEquals(initial, fr.finalWeights().get(i), n + " must not change");
            else assertFalse(Arrays.equals(initial, fr.finalWeights().get(i)), n + " trains");
            assertFalse(Arrays.equals(initial, full.finalWeights().get(i)), n + " trains in the full run");
        }
        assertEquals(full.iterations().get(0).loss(), fr.iterations().get(0).loss());
        // LoRA: B starts at zero (peft), so the adapters add exactly nothing at first and A's first gradient is
        // zero: after one Adam step A is bit-identical to its start while B has moved; the base stays frozen
        ModelDef lora = LoraConfig.parse("r=4,alpha=8,targets=q_proj,head").apply(m);
        Schedule ls = derive(lora, 4, Optimizer.ADAM, TrainingSetup.DEFAULT.withFrozen(LoraConfig.FREEZES));
        RunResult one;
        try (CpuBackend be = new CpuBackend(1L << 28)) {
            one = new Executor(Plan.baseline(ls), CPU).run(be, new RunConfig(1, 0.01, 5, true),
                    ProgressListener.NONE, () -> false);
        }
        List<Value> lp = ls.graph().values().stream().filter(v -> v.kind() == ValueKind.PARAM).toList();
        for (int i = 0; i < lp.size(); i++) {
            String n = lp.get(i).name();
            float[] initial = WeightInit.initial(ls.graph(), lp.get(i), 5);
            if (n.endsWith("lora_B.weight")) {
                for (float f : initial) assertEquals(0f, f, n);
                assertFalse(Arrays.equals(initial, one.finalWeights().get(i)), n + " trains");
            } else assertArrayEquals(initial, one.finalWeights().get(i), n + " is unchanged after one step");
        }
        RunResult lr = run(ls, false);
        assertNotEquals(lr.iterations().get(0).loss(), lr.iterations().get(2).loss(), "the adapters learn");
        assertEquals(lr.iterations().get(0).predictedPeakBytes(), lr.iterations().get(0).measuredPeakBytes());
    }

    @Test
    void cpuRunRefusesWhatItsFp32KernelsCannotCompute() {
        for (TrainingSetup t : List.of(TrainingSetup.DEFAULT.withOptimizerStates(OptimizerStates.BLOCKWISE_8BIT),
                TrainingSetup.DEFAULT.withAmp(Amp.BF16),
                frozen("fc1").withBaseWeights(BaseWeights.NF4))) {
            Schedule s = derive(mlp(), 2, Optimizer.ADAM, t);
            RunConfigException e = assertThrows(RunConfigException.class, () -> run(s, false));
            assertTrue(e.getMessage().startsWith("training runs compute in fp32 and cannot execute "), e.getMessage());
        }
    }

    static RunResult run(Schedule s, boolean keep) {
        try (CpuBackend be = new CpuBackend(1L << 28)) {
            return new Executor(Plan.baseline(s), CPU).run(be, new RunConfig(3, 0.01, 5, keep),
                    ProgressListener.NONE, () -> false);
        }
    }

    static Value value(Graph g, String name) {
        for (Value v : g.values()) if (v.name().equals(name)) return v;
        throw new AssertionError("no value " + name);
    }

    static List<Integer> dims(Value v) {
        return Arrays.stream(v.shape().dims()).boxed().toList();
    }

    static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }
}

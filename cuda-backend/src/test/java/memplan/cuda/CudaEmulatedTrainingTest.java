package memplan.cuda;

import memplan.backend.Codec;
import memplan.backend.cpu.CpuBackend;
import memplan.exec.Executor;
import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.*;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.plan.TensorUses;
import memplan.samples.SampleModels;
import memplan.sim.DeviceModel;
import memplan.framework.FrameworkProfile;
import memplan.train.LoraConfig;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TensorInfo;
import memplan.train.TrainingSetup;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Whole training iterations through the real Executor on the emulated CUDA kernels (see CudaEmulatedOpsTest): the
 * losses follow the CPU backend's, and lossless plans (swap, recompute, 1-bit masks, sparse) leave the weights
 * bit-identical to the baseline plan on the same backend, as on the CPU.
 */
class CudaEmulatedTrainingTest {
    private static final DeviceModel DEV = DeviceModel.preset("cpu");
    private static String unavailable;

    @BeforeAll
    static void build() throws Exception {
        unavailable = EmuBackend.load(Path.of("").toAbsolutePath());
    }

    private static Schedule schedule(String model) {
        return schedule(SampleModels.load(model));
    }

    private static Schedule schedule(ModelDef model) {
        return memplan.train.TrainingGraph.derive(Graph.instantiate(model, 4, DType.FP32), Optimizer.ADAM);
    }

    private static Input input(DType t, String... dims) {
        return new Input(List.of(dims), t);
    }

    /**
     * A small network of the ops ONNX import brings (ConvTranspose2d, broadcasting Add/Mul, Sub/Div/Pow,
     * ConstElementwise, ReduceMean, Split, Pad, MaskedFill with a buffer and with an int64 input mask, Cast, Clip,
     * Sqrt, HardSwish, HardSigmoid, LeakyReLU, Opaque), ending in Linear and CrossEntropy.
     */
    static ModelDef importedOpsNet() {
        ModelDef.Builder b = ModelDef.builder("imported-ops");
        String x = b.add("x", input(null, "N", "3", "8", "8"));
        String m = b.add("m", input(DType.INT64, "N", "1", "1", "10"));
        String labels = b.add("labels", input(DType.INT64, "N"));
        String c1 = b.add("conv", Conv2d.of(4, 3, 2, 1, true), x);                                        // [N,4,4,4]
        String hs = b.add("hswish", new HardSwish(), c1);
        String up = b.add("up", new ConvTranspose2d(4, Pair.of(2), Pair.of(2), Pair.of(0), Pair.of(0), Pair.of(1), 1,
                true), hs);
        String pad = b.add("pad", new Pad(List.of(0, 0, 1, 1, 0, 0, 1, 1), "reflect"),
                up);                  // [N,4,10,10]
        String mean = b.add("mean", new ReduceMean(List.of(2, 3), true), pad);                             // [N,4,1,1]
        String ctr = b.add("center", new Sub(), pad, mean);
        String gate = b.add("gate", new Sigmoid(), mean);
        String gated = b.add("gated", new Mul(), ctr, gate);
        String clip = b.add("clip", new Clip(-3, 3), gated);
        String split = b.add("split", new Split(1, List.of(2, 2)), clip);
        String sq = b.add("square", ConstElementwise.scalar("pow", 2, false), split + ":1");
        String pos = b.add("plus1", ConstElementwise.scalar("add", 1, false), sq);
        String root = b.add("root", new Sqrt(), pos);
        String hsig = b.add("hsig", new HardSigmoid(0.2, 0.5), split + ":1");
        String pow = b.add("pow", new Pow(), root, hsig);
        String div = b.add("div", new Div(), split + ":0", pow);
        String scale = b.add("scale", new ConstElementwise("mul", List.of(2, 1, 1), 0, false, true), div);
        String bias = b.add("bias", new ConstElementwise("add", List.of(10), 0, false, true), scale);
        String causal = b.add("causal", new MaskedFill(List.of(1, 1, 10, 10), 0, true), bias);
        String mf = b.add("maskf", new Cast(null), m);
        String addm = b.add("addmask", new Add(), causal, mf);
        String masked = b.add("masked", new MaskedFill(List.of(), -1, false), addm, m);
        String lrelu = b.add("lrelu", new LeakyReLU(0.1), masked);
        String opaque = b.add("opaque", new Opaque("onnx:Identity", 1, 1), lrelu);
        String flat = b.add("flat", new Flatten(1), opaque);
        String fc = b.add("fc", new Linear(5, true), flat);
        b.add("loss", new CrossEntropy(1), fc, labels);
        return b.build();
    }

    private static RunResult run(Plan p, memplan.backend.Backend b) {
        RunResult r = new Executor(p, DEV).run(b, new RunConfig(3, 0.01, 7), ProgressListener.NONE, () -> false);
        for (IterationResult it : r.iterations()) assertEquals(it.predictedPeakBytes(), it.measuredPeakBytes(),
                "measured peak = predicted");
        return r;
    }

    private static Plan everywhere(Schedule s, java.util.function.IntFunction<Decision> d) {
        Plan p = Plan.baseline(s);
        TensorUses u = TensorUses.of(s);
        for (TensorInfo t : s.tensors()) {
            Decision dec = d.apply(t.id());
            if (dec == null) continue;
            Plan q = p.with(t.id(), dec);
            if (PlanValidator.problems(q, u).isEmpty()) p = q;
        }
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama"})
    void trainsLikeTheCpuBackendAndLosslessPlansKeepTheWeights(String model) {
        assumeTrue(Boolean.parseBoolean(System.getProperty("memplan.emu", "true")), "memplan.emu=false");
        assumeTrue(unavailable == null, () -> unavailable);
        trainsLikeTheCpuBackendAndLosslessPlansKeepTheWeights(model, schedule(model));
    }

    @Test
    void theImportedOpsTrainLikeTheCpuBackendAndLosslessPlansKeepTheWeights() {
        assumeTrue(Boolean.parseBoolean(System.getProperty("memplan.emu", "true")), "memplan.emu=false");
        assumeTrue(unavailable == null, () -> unavailable);
        Schedule s = schedule(importedOpsNet());
        trainsLikeTheCpuBackendAndLosslessPlansKeepTheWeights("imported-ops", s);
        everyPlannerRunsAndLosslessOnesKeepTheWeights("imported-ops", s);
    }

    private static void trainsLikeTheCpuBackendAndLosslessPlansKeepTheWeights(String model, Schedule s) {
        RunResult cpu;
        try (CpuBackend b = new CpuBackend(1L << 30)) {
            cpu = run(Plan.baseline(s), b);
        }
        try (EmuBackend b = new EmuBackend()) {
            RunResult base = run(Plan.baseline(s), b);
            for (int i = 0; i < base.iterations().size(); i++) {
                float a = cpu.iterations().get(i).loss(), g = base.iterations().get(i).loss();
                assertTrue(Math.abs(a - g) <= 1e-3 * Math.max(1, Math.abs(a)),
                        model + " iteration " + (i + 1) + ": cpu loss " + a + ", cuda " + g);
            }
            for (Plan p : List.of(everywhere(s, t -> Decision.Swap.auto()), everywhere(s, t -> Decision.RECOMPUTE),
                    everywhere(s, t -> new Decision.Compress(Codec.MASK_1BIT, 0, false)),
                    everywhere(s, t -> new Decision.Compress(Codec.SPARSE, 1.0, true)))) {
                assertEquals(base.weightsSha256(), run(p, b).weightsSha256(),
                        model + " with " + p.changedCount() + " changed tensors");
            }
        }
    }

    /**
     * LoRA on tiny-llama's q_proj and v_proj: frozen RMSNorm weights keep no normalised x and the first layer's
     * attention keeps no q (its k wants no gradient); the kernels work from what is kept, as the CPU's do.
     */
    @Test
    void loraOnALlamaTrainsLikeTheCpuBackend() {
        assumeTrue(Boolean.parseBoolean(System.getProperty("memplan.emu", "true")), "memplan.emu=false");
        assumeTrue(unavailable == null, () -> unavailable);
        LoraConfig lora = LoraConfig.parse("r=4,alpha=8,targets=q_proj,v_proj");
        Schedule s = memplan.train.TrainingGraph.derive(Graph.instantiate(lora.apply(SampleModels.load("tiny-llama")),
                4, DType.FP32), Optimizer.ADAM, FrameworkProfile.GENERIC,
                TrainingSetup.DEFAULT.withFrozen(LoraConfig.FREEZES));
        assertTrue(s.trainableParameters() < 2000, "only the adapters train: " + s.trainableParameters());
        trainsLikeTheCpuBackendAndLosslessPlansKeepTheWeights("tiny-llama with LoRA", s);
    }

    /** The planners of `memplan run` at their lowest peak, on the emulated kernels. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-cnn", "tiny-lstm", "tiny-transformer"})
    void everyPlannerRunsAndLosslessOnesKeepTheWeights(String model) {
        assumeTrue(Boolean.parseBoolean(System.getProperty("memplan.emu", "true")), "memplan.emu=false");
        assumeTrue(unavailable == null, () -> unavailable);
        everyPlannerRunsAndLosslessOnesKeepTheWeights(model, schedule(model));
    }

    private static void everyPlannerRunsAndLosslessOnesKeepTheWeights(String model, Schedule s) {
        try (EmuBackend b = new EmuBackend()) {
            RunResult base = run(Plan.baseline(s), b);
            List<String> ran = new java.util.ArrayList<>();
            for (String name : List.of("share", "swap", "checkpoint-sqrt", "recompute-greedy", "hybrid-greedy",
                    "compress", "compress-fp16")) {
                memplan.planner.Planner planner = memplan.planner.Planners.named(name);
                Plan p;
                try {
                    p = planner.plan(s, memplan.planner.Planner.MIN_PEAK, DEV);
                } catch (RuntimeException e) {
                    continue;   // a planner with nothing to offer this model
                }
                RunResult r = run(p, b);
                ran.add(name + " (" + p.changedCount() + " changed)");
                for (IterationResult it : r.iterations()) assertTrue(Float.isFinite(it.loss()), model + " " + name);
                if (planner.lossless() && !r.lossy())
                    assertEquals(base.weightsSha256(), r.weightsSha256(), model + " planned by " + name);
            }
            assertTrue(ran.size() >= 5, model + ": only " + ran + " made a plan");
        }
    }

    /** Larger zoo models at batch 2 (slow on the emulator: -Dmemplan.emu.full=true). */
    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "unet-small", "lstm-lm", "lenet5"})
    void zooModelsTrainLikeTheCpuBackend(String model) {
        assumeTrue(Boolean.getBoolean("memplan.emu.full"), "larger models run with -Dmemplan.emu.full=true");
        assumeTrue(unavailable == null, () -> unavailable);
        // SGD: Adam's first steps turn last-bit gradient differences of near-zero gradients into whole +-lr updates
        Schedule s = memplan.train.TrainingGraph.derive(Graph.instantiate(SampleModels.load(model), 2, DType.FP32),
                Optimizer.SGD);
        RunResult cpu;
        try (CpuBackend b = new CpuBackend(4L << 30)) {
            cpu = run(Plan.baseline(s), b);
        }
        try (EmuBackend b = new EmuBackend()) {
            RunResult emu = run(Plan.baseline(s), b);
            for (int i = 0; i < emu.iterations().size(); i++) {
                float a = cpu.iterations().get(i).loss(), g = emu.iterations().get(i).loss();
                assertTrue(Math.abs(a - g) <= 1e-3 * Math.max(1, Math.abs(a)),
                        model + " iteration " + (i + 1) + ": cpu loss " + a + ", cuda " + g);
            }
        }
    }
}

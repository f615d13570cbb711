package memplan.parallel;

import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.ir.TensorRole;
import memplan.model.ModelDef;
import memplan.ops.CrossEntropy;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.ReLU;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.TensorKind;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelProfileTest {
    /** Linear layers of the given widths over a 64-wide input, ReLU between, cross-entropy over the last. */
    static Schedule mlp(int batch, Optimizer o, int... widths) {
        ModelDef.Builder b = ModelDef.builder("mlp");
        String x = b.add("x", new Input(List.of("N", "64"), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        for (int i = 0; i < widths.length; i++) {
            x = b.add("fc" + i, new Linear(widths[i], false), x);
            if (i + 1 < widths.length) x = b.add("relu" + i, new ReLU(), x);
        }
        b.add("loss", new CrossEntropy(1), x, y);
        return TrainingGraph.derive(Graph.instantiate(b.build(), batch, DType.FP32), o, FrameworkProfile.PYTORCH_CPU);
    }

    static long bytesOf(Schedule s, TensorKind k) {
        return s.tensors().stream().filter(t -> t.kind() == k).mapToLong(t -> t.bytes()).sum();
    }

    @Test
    void oneDeviceIsTheSingleDeviceProfile() {
        Schedule s = mlp(8, Optimizer.ADAM, 512, 256, 10);
        RankMemory r = ParallelProfile.of(s, Layout.single()).highest();
        MemoryProfile p = MemoryProfile.of(s);
        assertEquals(p.peakBytes(), r.peakBytes());
        assertEquals(p.peakStep(), r.peakStep());
        for (Phase ph : Phase.values()) assertEquals(p.phasePeak(ph), r.phasePeak(ph), ph.name());
        assertTrue(r.buffers().isEmpty());
    }

    @Test
    void ddpAddsPersistentBucketsOfAllGradients() {
        Schedule s = mlp(8, Optimizer.ADAM, 512, 256, 10);
        long grads = bytesOf(s, TensorKind.PARAM_GRAD);
        RankMemory one = ParallelProfile.of(s, Layout.single()).highest();
        RankMemory r = ParallelProfile.of(s, Layout.dataParallel(4)).highest();
        for (int i = 0; i < s.stepCount(); i++) assertEquals(one.liveBytes()[i] + grads, r.liveBytes()[i]);
        CommBuffer b = r.buffers().get(0);
        assertEquals(grads, b.bytes());
        assertTrue(b.persistent());
    }

    @Test
    void ddpBucketsFollowPyTorchsCaps() {
        // gradients in reverse order: fc2 10x2048 (80 KiB), fc1 2048x2048 (16 MiB), fc0 2048x64 (512 KiB):
        // the first bucket (1 MiB cap) closes after fc1, the second takes fc0
        Schedule s = mlp(2, Optimizer.SGD, 2048, 2048, 10);
        assertEquals(2, ParallelProfile.of(s, Layout.dataParallel(2)).highest().buffers().get(0).count());
        // a 40 MiB gradient fills the first bucket alone (DDP never splits a parameter); fc0's 1 MiB is the second
        Schedule big = mlp(2, Optimizer.SGD, 4096, 2560);
        assertEquals(2, ParallelProfile.of(big, Layout.dataParallel(2)).highest().buffers().get(0).count());
    }

    @Test
    void zeroOnePartitionsWholeParametersLargestFirstToTheEmptiestRank() {
        // sizes 64x1000, 1000x500, 500x10: 64000, 500000, 5000 elements over 2 ranks: 500000 -> rank 0,
        // 64000 -> rank 1, 5000 -> rank 1
        Schedule s = mlp(4, Optimizer.ADAM, 1000, 500, 10);
        ParallelProfile p = ParallelProfile.of(s, Layout.parse(2, null, "zero1"));
        assertEquals(2, p.ranks().size());
        long state0 = 2L * 500_000 * 4, state1 = 2L * (64_000 + 5000) * 4;
        long params = bytesOf(s, TensorKind.PARAM), grads = bytesOf(s, TensorKind.PARAM_GRAD);
        // model states at rest: parameters, gradients (DDP's copies are buffers), this rank's optimizer state
        assertEquals(params + grads + state0, p.ranks().get(0).modelStateBytes());
        assertEquals(params + grads + state1, p.ranks().get(1).modelStateBytes());
        assertEquals(p.ranks().get(0), p.highest());
    }

    @Test
    void gradientShardingFreesEachGradientAfterItsBackward() {
        Schedule s = mlp(4, Optimizer.ADAM, 2048, 2048, 10);
        RankMemory z1 = ParallelProfile.of(s, Layout.parse(4, null, "zero1")).highest();
        RankMemory z2 = ParallelProfile.of(s, Layout.parse(4, null, "zero2")).highest();
        RankMemory z3 = ParallelProfile.of(s, Layout.parse(4, null, "zero3")).highest();
        assertTrue(z2.phasePeak(Phase.OPTIMIZER) < z1.phasePeak(Phase.OPTIMIZER));
        assertTrue(z3.peakBytes() < z2.peakBytes());
        assertTrue(z2.modelStateBytes() < z1.modelStateBytes());
        assertTrue(z2.buffers().stream().anyMatch(b -> b.name().startsWith("DeepSpeed reduce bucket")));
    }

    @Test
    void fsdpGathersALayerAndItsPrefetchAroundItsSteps() {
        Schedule s = mlp(4, Optimizer.ADAM, 2048, 2048, 10);
        RankMemory r = ParallelProfile.of(s, Layout.parse(4, null, "fsdp-full")).highest();
        long fc1 = 2048L * 2048 * 4, fc0 = 64L * 2048 * 4, fc2 = 10L * 2048 * 4;
        // forward of fc0 gathers fc0 and prefetches fc1; the gathered figures exclude the rank's own shard
        long gatherFc0 = fc0 - fc0 / 4 + fc1 - fc1 / 4;
        int f0 = s.forwardStep(s.graph().node("fc0").index());
        long rest = ParallelProfile.of(s, Layout.parse(4, null, "fsdp-full")).ranks().get(0).liveByRole()
                [TensorRole.WEIGHT.ordinal()][s.stepCount() - 1];
        assertEquals(rest + gatherFc0, r.liveByRole()[TensorRole.WEIGHT.ordinal()][f0]);
        assertEquals((fc0 + fc1 + fc2) / 4, rest);
        RankMemory gradOp = ParallelProfile.of(s, Layout.parse(4, null, "fsdp-grad-op")).highest();
        assertTrue(gradOp.peakBytes() > r.peakBytes(), "SHARD_GRAD_OP keeps the parameters through backward");
    }

    @Test
    void offloadMovesStatesToTheHost() {
        Schedule s = mlp(4, Optimizer.ADAM, 2048, 2048, 10);
        Layout z3 = Layout.parse(4, null, "zero3");
        RankMemory on = ParallelProfile.of(s, z3).highest();
        RankMemory off = ParallelProfile.of(s, z3.withOffload(true, true)).highest();
        assertTrue(off.peakBytes() < on.peakBytes());
        assertTrue(off.offloadedBytes() > 0);
        assertEquals(0, on.offloadedBytes());
    }

    @Test
    void pipelineStagesSplitTheModelAndOneFOneBStashesLessThanGPipe() {
        Schedule s = mlp(2048, Optimizer.ADAM, 256, 256, 256, 10);
        Layout pp = new Layout(1, 1, 2, ShardMode.NONE, 4, PipelineSchedule.ONE_F_ONE_B, false, false, 1, true);
        ParallelProfile onefb = ParallelProfile.of(s, pp);
        ParallelProfile gpipe = ParallelProfile.of(s, pp.withPipeline(PipelineSchedule.GPIPE));
        assertEquals(2, onefb.ranks().size());
        long total = MemoryProfile.of(s).peakBytes();
        // every parameter, its gradient and its state on exactly one stage
        assertEquals(ParallelProfile.of(s, Layout.single()).highest().modelStateBytes(),
                onefb.ranks().get(0).modelStateBytes() + onefb.ranks().get(1).modelStateBytes());
        assertTrue(onefb.ranks().get(1).modelStateBytes() > 0);
        // stage 0 of 2 holds two micro-batches under 1F1B, four under GPipe; the last stage one under 1F1B
        assertTrue(gpipe.ranks().get(0).peakBytes() > onefb.ranks().get(0).peakBytes());
        assertTrue(onefb.ranks().get(1).buffers().isEmpty(), onefb.ranks().get(1).buffers().toString());
        assertTrue(onefb.highest().peakBytes() < total * 2);
    }

    @Test
    void tensorParallelismDividesTheRank() {
        Schedule s = mlp(8, Optimizer.ADAM, 1024, 1024, 16);
        long one = ParallelProfile.of(s, Layout.single()).highest().peakBytes();
        long t4 = ParallelProfile.of(s, Layout.parse(0, "tp=4", null)).highest().peakBytes();
        assertTrue(t4 < one / 3 && t4 > one / 5, t4 + " of " + one);
    }

    @Test
    void layoutsParseAndRefuseWithOneReason() {
        Layout l = Layout.parse(16, "dp=4,tp=2,pp=2", "zero3");
        assertEquals(List.of(4, 2, 2, 16), List.of(l.dp(), l.tp(), l.pp(), l.worldSize()));
        assertEquals(4, Layout.parse(16, "tp=2,pp=2", null).dp());
        assertEquals(8, Layout.parse(8, null, null).dp());
        assertEquals(8, Layout.parse(32, null, "fsdp-hybrid").shardDegree());
        Schedule s = mlp(2, Optimizer.SGD, 8, 4);
        IllegalArgumentException stages = assertThrows(IllegalArgumentException.class,
                () -> ParallelProfile.of(s, Layout.parse(0, "pp=64", null)));
        assertTrue(stages.getMessage().contains("64 stages"), stages.getMessage());
        for (String[] bad : new String[][]{{"8", "dp=4,tp=4", null}, {"0", "dp=4,tq=2", null},
                {"0", "dp=x", null}, {"0", "dp=2,dp=2", null}, {"0", "dp", null}, {"6", "tp=4", null},
                {"0", null, "zero4"}, {"0", "dp=0", null}, {"0", "dp=1048576,tp=1048576,pp=1048576", null},
                {"2147483647", null, null}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Layout.parse(Integer.parseInt(bad[0]), bad[1], bad[2]));
            assertTrue(!e.getMessage().contains("\n") && e.getMessage().length() < 160, e.getMessage());
        }
    }
}

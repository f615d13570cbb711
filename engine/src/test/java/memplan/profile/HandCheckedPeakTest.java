package memplan.profile;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ir.TensorRole;
import memplan.ops.Conv2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Flatten;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.MaxPool2d;
import memplan.ops.Pair;
import memplan.ops.ReLU;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TensorInfo;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Liveness and peak of a small graph, computed by hand.
 *
 * <pre>
 * x [2x4] fp32, y [2] int64 -> fc = Linear(3) -> relu -> loss = CrossEntropy(relu, y); batch 2, SGD with momentum.
 *
 * tensor              bytes   live (steps)
 * x                   32      always (data)
 * y                   16      always (data)
 * fc.weight [3x4]     48      always (parameter)
 * fc.bias [3]         12      always
 * fc.weight.momentum  48      always (optimizer state)
 * fc.bias.momentum    12      always
 *                    ---
 *                    168      persistent
 * fc [2x3]            24      0..1   (written by fc, last read by relu; Linear's backward reads x, not fc)
 * relu [2x3]          24      1..4   (ReLU saves its output; relu backward reads it)
 * loss []              4      2..2
 * loss.log_softmax    24      2..3   (CrossEntropy saves it)
 * grad(relu)          24      3..4
 * grad(fc)            24      4..5
 * grad(fc.weight)     48      5..6
 * grad(fc.bias)       12      5..7
 *
 * step 0 fc                168 + fc 24                              = 192
 * step 1 relu              168 + fc 24 + relu 24                    = 216
 * step 2 loss              168 + relu 24 + loss 4 + log_softmax 24  = 220
 * step 3 loss backward     168 + relu 24 + log_softmax 24 + grad(relu) 24 = 240
 * step 4 relu backward     168 + relu 24 + grad(relu) 24 + grad(fc) 24    = 240
 * step 5 fc backward       168 + grad(fc) 24 + grad(fc.weight) 48 + grad(fc.bias) 12 = 252   <- peak
 * step 6 update fc.weight  168 + grad(fc.weight) 48 + grad(fc.bias) 12 = 228
 * step 7 update fc.bias    168 + grad(fc.bias) 12                   = 180
 *
 * At the peak: input 48 (x, y), weights 60, optimizer state 60, gradients 84 (grad(fc), grad(fc.weight),
 * grad(fc.bias)), activations 0, workspace 0.
 * Lower bound: update fc.weight touches grad(fc.weight) 48 + fc.weight 48 + fc.weight.momentum 48 = 144 bytes,
 * more than any other step (fc backward: grad(fc) 24 + x 32 + grad(fc.weight) 48 + grad(fc.bias) 12 = 116; it
 * does not read the weights, which would serve only x's gradient, and data gets none).
 * </pre>
 */
class HandCheckedPeakTest {
    static Schedule schedule() {
        ModelDef.Builder b = ModelDef.builder("hand");
        String x = b.add("x", new Input(List.of("N", "4"), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        String fc = b.add("fc", new Linear(3, true), x);
        String r = b.add("relu", new ReLU(), fc);
        b.add("loss", new CrossEntropy(1), r, y);
        return TrainingGraph.derive(Graph.instantiate(b.build(), 2, DType.FP32), Optimizer.SGD);
    }

    static int id(Schedule s, String name) {
        for (TensorInfo t : s.tensors()) if (t.name().equals(name)) return t.id();
        throw new AssertionError(name);
    }

    @Test
    void livenessIntervals() {
        Schedule s = schedule();
        Liveness l = Liveness.of(s);
        assertEquals(8, s.stepCount());
        Map<String, int[]> expected = Map.ofEntries(
                Map.entry("x", new int[]{-1, 8}), Map.entry("y", new int[]{-1, 8}),
                Map.entry("fc.weight", new int[]{-1, 8}), Map.entry("fc.bias", new int[]{-1, 8}),
                Map.entry("fc.weight.momentum", new int[]{-1, 8}), Map.entry("fc.bias.momentum", new int[]{-1, 8}),
                Map.entry("fc", new int[]{0, 1}), Map.entry("relu", new int[]{1, 4}), Map.entry("loss", new int[]{2, 2}),
                Map.entry("loss.log_softmax", new int[]{2, 3}), Map.entry("grad(relu)", new int[]{3, 4}),
                Map.entry("grad(fc)", new int[]{4, 5}), Map.entry("grad(fc.weight)", new int[]{5, 6}),
                Map.entry("grad(fc.bias)", new int[]{5, 7}));
        assertEquals(expected.size(), s.tensorCount());
        expected.forEach((name, range) -> {
            int t = id(s, name);
            assertEquals(range[0], l.first(t), name + " first");
            assertEquals(range[1], l.last(t), name + " last");
        });
        assertTrue(l.liveAt(id(s, "relu"), 4));
        assertFalse(l.liveAt(id(s, "relu"), 5));
    }

    @Test
    void peakComputedByHand() {
        MemoryProfile p = MemoryProfile.of(schedule());
        assertArrayEquals(new long[]{192, 216, 220, 240, 240, 252, 228, 180}, p.liveBytes());
        assertEquals(252, p.peakBytes());
        assertEquals(5, p.peakStep());
        assertEquals("fc backward", p.peakStepInfo().label());
        assertEquals(48L, p.peakByRole().get(TensorRole.INPUT));
        assertEquals(60L, p.peakByRole().get(TensorRole.WEIGHT));
        assertEquals(60L, p.peakByRole().get(TensorRole.OPTIMIZER_STATE));
        assertEquals(84L, p.peakByRole().get(TensorRole.GRADIENT));
        assertEquals(0L, p.peakByRole().get(TensorRole.ACTIVATION));
        assertEquals(0L, p.peakByRole().get(TensorRole.WORKSPACE));
        assertEquals(p.peakBytes(), p.peakByRole().values().stream().mapToLong(Long::longValue).sum());
        assertEquals(List.of("fc.weight", "grad(fc.weight)", "fc.weight.momentum", "x", "grad(fc)", "y"),
                p.largestAtPeak().subList(0, 6) /* by size, ties by tensor id: gradients are created before optimizer state */.stream().map(TensorInfo::name).toList());
        assertEquals(144, p.lowerBound());
        assertEquals(6, p.lowerBoundStep());
        assertEquals(15L, p.parameters());
    }

    @Test
    void liveBytesByRoleAddUpAtEveryStep() {
        MemoryProfile p = MemoryProfile.of(schedule());
        for (int i = 0; i < p.liveBytes().length; i++) {
            long sum = 0;
            for (long[] role : p.liveByRole()) sum += role[i];
            assertEquals(p.liveBytes()[i], sum, "step " + i);
        }
    }

    /**
     * A second graph with a workspace, aux indices and a view, batch 1, fp32, SGD:
     * <pre>
     * x [1x1x4x4] -> conv = Conv2d(2, 3x3, pad 1, no bias) -> pool = MaxPool2d(2) -> flat = Flatten (view)
     *   -> fc = Linear(3, no bias) -> loss = CrossEntropy(fc, y [1] int64)
     *
     * persistent: x 64, y 8, conv.weight [2x1x3x3] 72, fc.weight [3x8] 96, their momenta 72 + 96  = 408
     * conv [1x2x4x4] 128      steps 0..6 (pool backward reads its input)
     * conv.workspace 576      step 0     (im2col: 1*3*3 x 4*4 elements)
     * pool [1x2x2x2] 32       1..5       (fc backward reads its input through the view)
     * pool.indices int64 64   1..6
     * fc 12 2..3, loss 4 3..3, loss.log_softmax 12 3..4
     * grad(fc) 12 4..5, grad(pool) 32 5..6 (the view's gradient is its storage's), grad(fc.weight) 96 5..9,
     * grad(conv) 128 6..7, grad(conv.weight) 72 7..8, conv.backward_workspace 576 7..7
     *
     * step 0 conv              408 + 128 + 576                      = 1112
     * step 1 pool              408 + 128 + 32 + 64                  =  632
     * step 2 fc                408 + 128 + 32 + 64 + 12             =  644
     * step 3 loss              408 + 128 + 32 + 64 + 12 + 4 + 12    =  660
     * step 4 loss backward     408 + 128 + 32 + 64 + 12 + 12        =  656
     * step 5 fc backward       408 + 128 + 32 + 64 + 12 + 32 + 96   =  772
     * step 6 pool backward     408 + 128 + 64 + 32 + 96 + 128       =  856
     * step 7 conv backward     408 + 96 + 128 + 72 + 576            = 1280   <- peak
     * step 8 update conv.weight 408 + 96 + 72                       =  576
     * step 9 update fc.weight  408 + 96                             =  504
     *
     * At the peak: input 72, weights 168, optimizer state 168, gradients 296 (grad(fc.weight), grad(conv),
     * grad(conv.weight)), workspace 576, activations 0.
     * Lower bound: conv backward touches grad(conv) 128 + x 64 + conv.weight 72 + grad(conv.weight) 72 + workspace 576
     * = 912 (the forward conv step touches 64 + 72 + 128 + 576 = 840).
     * </pre>
     */
    @Test
    void peakWithWorkspaceIndicesAndAView() {
        ModelDef.Builder b = ModelDef.builder("hand2");
        String x = b.add("x", new Input(List.of("N", "1", "4", "4"), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        String c = b.add("conv", Conv2d.of(2, 3, 1, 1, false), x);
        String p = b.add("pool", new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), c);
        String f = b.add("flat", new Flatten(1), p);
        String fc = b.add("fc", new Linear(3, false), f);
        b.add("loss", new CrossEntropy(1), fc, y);
        Schedule s = TrainingGraph.derive(Graph.instantiate(b.build(), 1, DType.FP32), Optimizer.SGD);
        assertEquals(List.of("conv", "pool", "fc", "loss", "loss backward", "fc backward", "pool backward", "conv backward",
                "update conv.weight", "update fc.weight"), s.steps().stream().map(st -> st.label()).toList());
        assertEquals(576, s.tensor(id(s, "conv.workspace")).bytes());
        assertEquals(576, s.tensor(id(s, "conv.backward_workspace")).bytes());
        Liveness l = Liveness.of(s);
        assertEquals(0, l.first(id(s, "conv")));
        assertEquals(6, l.last(id(s, "conv")));
        assertEquals(5, l.last(id(s, "pool")));
        assertEquals(6, l.last(id(s, "pool.indices")));
        assertEquals(32, s.tensor(id(s, "grad(pool)")).bytes());
        MemoryProfile m = MemoryProfile.of(s, l);
        assertArrayEquals(new long[]{1112, 632, 644, 660, 656, 772, 856, 1280, 576, 504}, m.liveBytes());
        assertEquals(1280, m.peakBytes());
        assertEquals(7, m.peakStep());
        assertEquals(Map.of(TensorRole.INPUT, 72L, TensorRole.WEIGHT, 168L, TensorRole.OPTIMIZER_STATE, 168L,
                TensorRole.GRADIENT, 296L, TensorRole.WORKSPACE, 576L, TensorRole.ACTIVATION, 0L), m.peakByRole());
        assertEquals(912, m.lowerBound());
        assertEquals(7, m.lowerBoundStep());
    }
}

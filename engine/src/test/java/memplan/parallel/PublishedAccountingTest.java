package memplan.parallel;

import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.Dropout;
import memplan.ops.Embedding;
import memplan.ops.GELU;
import memplan.ops.Input;
import memplan.ops.LayerNorm;
import memplan.ops.Linear;
import memplan.ops.MatMul;
import memplan.ops.MseLoss;
import memplan.ops.Reshape;
import memplan.ops.Softmax;
import memplan.ops.Transpose;
import memplan.parallel.TransformerActivations.Split;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.TensorKind;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The published accounting that parallel layouts are checked against where no GPU cluster is at hand: the ZeRO
 * paper's model states per device (Rajbhandari et al. 2020, figure 1 and section 5.1: a 7.5B-parameter model,
 * mixed-precision Adam, 64 devices) and the activation memory per transformer layer of Korthikanti et al. 2022
 * (equation 1 and table 2), the latter also from MemPlan's own saved-tensor accounting of a Megatron-style layer.
 */
class PublishedAccountingTest {
    static final long PSI = 7_500_000_000L;

    @Test
    void zeroPaperModelStatesOf7Point5BOn64Devices() {
        ModelStates m = ModelStates.mixedPrecisionAdam(PSI);
        // (2 + 2 + K) Psi with K = 12; the paper prints 120 GB, 31.4 GB, 16.6 GB and 1.9 GB
        assertEquals(120e9, m.perDevice(0, 64));
        assertEquals(31.40625e9, m.perDevice(1, 64));
        assertEquals(16.640625e9, m.perDevice(2, 64));
        assertEquals(1.875e9, m.perDevice(3, 64));
        assertEquals("120.0 31.4 16.6 1.9", String.format(Locale.ROOT, "%.1f %.1f %.1f %.1f",
                m.perDevice(0, 64) / 1e9, m.perDevice(1, 64) / 1e9, m.perDevice(2, 64) / 1e9,
                m.perDevice(3, 64) / 1e9));
    }

    @Test
    void zeroStagesOfTheShardModes() {
        assertEquals(0, ModelStates.stageOf(ShardMode.NONE));
        assertEquals(1, ModelStates.stageOf(ShardMode.ZERO1));
        assertEquals(2, ModelStates.stageOf(ShardMode.ZERO2));
        assertEquals(2, ModelStates.stageOf(ShardMode.FSDP_GRAD_OP));
        assertEquals(3, ModelStates.stageOf(ShardMode.ZERO3));
        assertEquals(3, ModelStates.stageOf(ShardMode.FSDP_FULL));
    }

    /** The per-rank model states of a real schedule follow the same accounting (to a few bytes of rounding). */
    @Test
    void rankModelStatesOfARealScheduleFollowTheZeroAccounting() {
        var s = TrainingGraph.derive(Graph.instantiate(layers(2, 64, 4), 2, DType.FP16, Map.of("T", 16)),
                Optimizer.ADAM, FrameworkProfile.PYTORCH_CUDA);
        long params = s.graph().parameterCount();
        // MemPlan keeps Adam's state in the parameters' type: 2 + 2 + 4 bytes per parameter in fp16
        ModelStates states = ModelStates.uniform(params, 2, 2);
        int slack = 2 * 8 * s.tensorCount();   // rounding up one element per tensor and shard
        for (ShardMode m : List.of(ShardMode.NONE, ShardMode.ZERO1, ShardMode.ZERO2, ShardMode.ZERO3)) {
            for (int nd : new int[]{1, 4, 8}) {
                Layout l = Layout.parse(nd, null, m.label);
                RankMemory r = ParallelProfile.of(s, l).highest();
                double want = states.perDevice(ModelStates.stageOf(m), nd);
                if (m == ShardMode.ZERO1 && nd > 1) {
                    // ZeroRedundancyOptimizer partitions whole parameters: the largest rank holds at least 1/nd
                    assertEquals(true, r.modelStateBytes() >= want - slack, m + " nd " + nd);
                    assertEquals(true, r.modelStateBytes() <= states.perDevice(0, 1), m + " nd " + nd);
                } else {
                    assertEquals(want, r.modelStateBytes(), slack, m + " nd " + nd);
                }
            }
        }
    }

    static final long S = 2048, B = 4, H = 1024, A = 16;

    @Test
    void megatronActivationsPerLayer() {
        TransformerActivations t = new TransformerActivations(S, B, H, A);
        double sbh = S * B * H;
        assertEquals(sbh * (34 + 5.0 * A * S / H), t.perLayer());
        for (long tp : new long[]{2, 4, 8}) {
            assertEquals(sbh * (10 + 24.0 / tp + 5.0 * A * S / (H * tp)), t.perLayer(Split.TENSOR, tp, false));
            assertEquals(sbh / tp * (34 + 5.0 * A * S / H), t.perLayer(Split.TENSOR_SEQUENCE, tp, false));
            assertEquals(sbh * (10 + 24.0 / tp), t.perLayer(Split.TENSOR, tp, true));
            assertEquals(sbh * 34 / tp, t.perLayer(Split.TENSOR_SEQUENCE, tp, true));
        }
        assertEquals(t.perLayer(), t.perLayer(Split.TENSOR, 1, false));
    }

    /**
     * MemPlan's own accounting of a Megatron-style layer (fp16, PyTorch CUDA's 1-byte dropout masks, unmasked
     * attention with the scale folded into the softmax as Megatron's fused kernel does) saves exactly sbh(34 + 5as/h)
     * bytes for backward, plus the two LayerNorms' fp32 mean and inverse deviation (16sb), which the paper leaves out.
     * One layer is the difference of two stacks, so the head and the loss cancel.
     */
    @Test
    void memplansSavedTensorsOfAMegatronLayerAreTheFormula() {
        int s = 128, b = 2, h = 256, a = 8;
        long one = saved(layers(1, h, a), b, s), two = saved(layers(2, h, a), b, s);
        long layer = two - one;
        assertEquals(new TransformerActivations(s, b, h, a).perLayer() + 16L * s * b, layer);
        // with sequence-parallel tensor parallelism each rank keeps 1/t of it
        var sched = TrainingGraph.derive(Graph.instantiate(layers(2, h, a), b, DType.FP16, Map.of("T", s)),
                Optimizer.ADAM, FrameworkProfile.PYTORCH_CUDA);
        long whole = MemoryProfile.of(sched).savedBytes();
        Layout tp4 = new Layout(1, 4, 1, ShardMode.NONE, 1, PipelineSchedule.ONE_F_ONE_B, false, false, 1, true);
        RankMemory r = ParallelProfile.of(sched, tp4).highest();
        assertEquals(true, r.peakBytes() < ParallelProfile.of(sched, Layout.single()).highest().peakBytes() / 3,
                "tp=4 keeps about a quarter: " + r.peakBytes() + " of " + whole);
    }

    /**
     * Without sequence parallelism: the tensors MemPlan's split propagation divides over t ranks (column-parallel
     * Linear outputs up to the row-parallel Linears) leave sbh(10 + 24/t + 5as/(ht)) per layer on each rank, the
     * LayerNorm statistics (16sb) whole; and a rank's activations are then above the sequence-parallel ones.
     */
    @Test
    void memplansTensorParallelSplitOfAMegatronLayerIsTheFormula() {
        int s = 128, b = 2, h = 256, a = 8;
        for (int t : new int[]{2, 4, 8}) {
            long layer = savedPerRank(layers(2, h, a), b, s, t) - savedPerRank(layers(1, h, a), b, s, t);
            assertEquals(new TransformerActivations(s, b, h, a).perLayer(Split.TENSOR, t, false) + 16L * s * b,
                    layer, "t = " + t);
        }
        var sched = TrainingGraph.derive(Graph.instantiate(layers(4, h, a), b, DType.FP16, Map.of("T", s)),
                Optimizer.ADAM, FrameworkProfile.PYTORCH_CUDA);
        Layout sp = new Layout(1, 4, 1, ShardMode.NONE, 1, PipelineSchedule.ONE_F_ONE_B, false, false, 1, true);
        long withSp = ParallelProfile.of(sched, sp).highest().peakBytes();
        long without = ParallelProfile.of(sched, sp.withSequenceParallel(false)).highest().peakBytes();
        assertEquals(true, without > withSp, without + " without sequence parallelism, " + withSp + " with");
    }

    private static long savedPerRank(ModelDef m, int b, int s, int t) {
        var sched = TrainingGraph.derive(Graph.instantiate(m, b, DType.FP16, Map.of("T", s)),
                Optimizer.ADAM, FrameworkProfile.PYTORCH_CUDA);
        TensorSplit split = TensorSplit.of(sched.graph());
        boolean[] seen = new boolean[sched.tensorCount()];
        long bytes = 0;
        for (var st : sched.steps()) {
            if (st.phase() != Phase.BACKWARD) continue;
            for (int id : st.reads()) {
                var ti = sched.tensor(id);
                if (seen[id] || ti.kind() != TensorKind.ACTIVATION && ti.kind() != TensorKind.AUX) continue;
                seen[id] = true;
                bytes += split.split(sched, ti) ? ti.bytes() / t : ti.bytes();
            }
        }
        return bytes;
    }

    private static long saved(ModelDef m, int b, int s) {
        var sched = TrainingGraph.derive(Graph.instantiate(m, b, DType.FP16, Map.of("T", s)),
                Optimizer.ADAM, FrameworkProfile.PYTORCH_CUDA);
        return MemoryProfile.of(sched).savedBytes();
    }

    /** Stacked Megatron layers over embedded tokens [N, T] -> [N, T, h], MSE against a target [N, T, h]. */
    static ModelDef layers(int count, int h, int a) {
        ModelDef.Builder m = ModelDef.builder("megatron-" + count).dim("T", 16);
        String tokens = m.add("tokens", new Input(List.of("N", "T"), DType.INT64));
        String y = m.add("y", new Input(List.of("N", "T", String.valueOf(h)), null));
        // an embedding makes the layer input an activation (the data batch is not counted as saved), whole on
        // every tensor-parallel rank as Megatron's vocabulary-parallel embedding leaves it after its all-reduce
        String x = m.add("embed", new Embedding(1000, h), tokens);
        for (int i = 0; i < count; i++) x = layer(m, "l" + i + ".", x, h, a);
        m.add("loss", new MseLoss(), x, y);
        return m.build();
    }

    private static String layer(ModelDef.Builder m, String p, String in, int h, int a) {
        int d = h / a;
        String ln1 = m.add(p + "ln1", new LayerNorm(1e-5), in);
        String q = heads(m, p + "q", m.add(p + "q", new Linear(h, true), ln1), a, d);
        String k = heads(m, p + "k", m.add(p + "k", new Linear(h, true), ln1), a, d);
        String v = heads(m, p + "v", m.add(p + "v", new Linear(h, true), ln1), a, d);
        String scores = m.add(p + "scores", new MatMul(true), q, k);
        String probs = m.add(p + "softmax", new Softmax(), scores);
        String dropped = m.add(p + "attn_dropout", new Dropout(0.1), probs);
        String ctx = m.add(p + "context", new MatMul(false), dropped, v);
        String merged = m.add(p + "merge", new Transpose(List.of(0, 2, 1, 3)), ctx);
        String flat = m.add(p + "merge_view", new Reshape(List.of(0, 0, h)), merged);
        String proj = m.add(p + "proj", new Linear(h, true), flat);
        String r1 = m.add(p + "add1", new Add(), m.add(p + "proj_dropout", new Dropout(0.1), proj), in);
        String ln2 = m.add(p + "ln2", new LayerNorm(1e-5), r1);
        String fc = m.add(p + "fc", new Linear(4 * h, true), ln2);
        String act = m.add(p + "gelu", new GELU(), fc);
        String out = m.add(p + "fc_out", new Linear(h, true), act);
        return m.add(p + "add2", new Add(), m.add(p + "mlp_dropout", new Dropout(0.1), out), r1);
    }

    private static String heads(ModelDef.Builder m, String p, String x, int a, int d) {
        String view = m.add(p + "_view", new Reshape(List.of(0, 0, a, d)), x);
        return m.add(p + "_heads", new Transpose(List.of(0, 2, 1, 3)), view);
    }
}

package memplan.onnx;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntFunction;

import static memplan.onnx.OnnxGraphBuilder.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * An ONNX file using every op the importer introduced (but Opaque) is imported and trained for real on the CPU
 * backend: two iterations under the baseline plan, and under plans that swap or recompute every tensor they can,
 * give bit-identical weights.
 */
class OnnxCpuTrainingTest {
    @TempDir
    Path dir;

    static final DeviceModel DEV = DeviceModel.preset("cpu");

    /** x [N, 3, 6, 6] and an int64 mask [N, 1, 14, 14] through the importer's ops to 10 logits. */
    private ModelDef model() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 3, 6, 6).input("m", INT64, "N", 1, 14, 14);
        String c1 = b.node("Conv", List.of("x", b.weight("w1", 4, 3, 3, 3), b.weight("b1", 4)), is("pads", 1, 1, 1, 1));
        String l1 = b.node("LeakyRelu", List.of(c1), f("alpha", 0.1));
        String t1 = b.node("ConvTranspose", List.of(l1, b.weight("wt", 4, 4, 3, 3), b.weight("bt", 4)), is("strides", 2, 2),
                is("pads", 1, 1, 1, 1), is("output_padding", 1, 1)); // [N, 4, 12, 12]
        String hs = b.node("HardSwish", List.of(t1));
        String gate = b.node("HardSigmoid", List.of(b.node("ReduceMean", List.of(hs), is("axes", 2, 3), i("keepdims", 1))));
        String se = b.node("Mul", List.of(hs, gate)); // BroadcastMul
        String pad = b.node("Pad", List.of(se, b.ints(0, 0, 1, 1, 0, 0, 1, 1)), s("mode", "reflect")); // [N, 4, 14, 14]
        String clip = b.node("Clip", List.of(pad, b.scalar(0f), b.scalar(6f)));
        b.nodeOut("Split", List.of(clip, b.ints(2, 2)), List.of("s0", "s1"), i("axis", 1));
        String diff = b.node("Sub", List.of("s0", "s1"));
        String norm = b.node("Sqrt", List.of(b.node("Add", List.of(b.node("Mul", List.of("s1", "s1")), b.scalar(1f)))));
        String q = b.node("Div", List.of(diff, norm));
        String base = b.node("Add", List.of(b.node("Sigmoid", List.of(q)), b.scalar(0.5f)));
        String pw = b.node("Pow", List.of(base, b.node("Sigmoid", List.of("s0"))));
        String cond = b.node("Cast", List.of("m"), i("to", 9)); // bool
        String masked = b.node("Where", List.of(cond, pw, b.scalar(0f)));
        String mf = b.node("Cast", List.of("m"), i("to", FLOAT));
        String mm = b.node("Mul", List.of(masked, b.node("Add", List.of(mf, b.scalar(1f))))); // BroadcastMul
        String scaled = b.node("Mul", List.of(mm, b.floats(new float[]{0.5f, 2f}, 2, 1, 1))); // trainable constant
        String centred = b.node("Sub", List.of(scaled, b.node("ReduceMean", List.of(scaled), is("axes", 1), i("keepdims", 1))));
        String summed = b.node("Add", List.of(centred, b.node("ReduceMean", List.of(centred), is("axes", 3), i("keepdims", 1))));
        // a trainable divisor (starts at one, not zero) and a fixed causal mask (a bool initializer)
        String divided = b.node("Div", List.of(summed, b.floats(new float[14], 14)));
        var causal = memplan.onnx.proto.Onnx.TensorProto.newBuilder().setName("causal").setDataType(9).addDims(14).addDims(14);
        for (int r = 0; r < 14; r++) for (int c = 0; c < 14; c++) causal.addInt32Data(c <= r ? 1 : 0);
        b.g.addInitializer(causal);
        String triangle = b.node("Where", List.of("causal", divided, b.scalar(0f)));
        String flat = b.node("Flatten", List.of(triangle), i("axis", 1));
        String y = b.node("Gemm", List.of(flat, b.weight("wf", 10, 2 * 14 * 14), b.weight("bf", 10)), i("transB", 1));
        b.output(y);
        return b.load(dir);
    }

    static RunResult run(Plan p) {
        try (CpuBackend be = new CpuBackend(1L << 30)) {
            RunResult r = new Executor(p, DEV).run(be, new RunConfig(2, 0.01, 7), ProgressListener.NONE, () -> false);
            for (IterationResult it : r.iterations()) {
                assertEquals(it.predictedPeakBytes(), it.measuredPeakBytes(), "measured peak = predicted");
                assertTrue(Float.isFinite(it.loss()), "loss " + it.loss());
            }
            return r;
        }
    }

    static Plan everywhere(Schedule s, IntFunction<Decision> d) {
        Plan p = Plan.baseline(s);
        TensorUses u = TensorUses.of(s);
        for (TensorInfo t : s.tensors()) {
            Plan q = p.with(t.id(), d.apply(t.id()));
            if (PlanValidator.problems(q, u).isEmpty()) p = q;
        }
        return p;
    }

    @Test
    void importedModelTrainsIdenticallyUnderSwapAndRecompute() throws Exception {
        ModelDef m = model();
        Set<String> types = new TreeSet<>();
        m.layers().forEach(l -> types.add(l.op().type()));
        assertTrue(types.containsAll(Set.of("ConvTranspose2d", "LeakyReLU", "HardSigmoid", "HardSwish", "Sqrt", "Clip", "Cast",
                "Mul", "Add", "Sub", "Div", "Pow", "ConstElementwise", "ReduceMean", "Split", "Pad", "MaskedFill")), types.toString());
        Schedule s = TrainingGraph.derive(Graph.instantiate(m, 3, DType.FP32), Optimizer.ADAM);
        // imported constants start neutral: the divisor at one, the mask causal
        Graph g = s.graph();
        int checked = 0;
        for (var v : g.values()) {
            if (v.name().endsWith(".const") && v.shape().numel() == 14) {
                float[] w = memplan.exec.WeightInit.initial(g, v, 7);
                for (float x : w) assertEquals(1f, x, v.name());
                checked++;
            }
            if (v.name().endsWith(".mask")) {
                float[] w = memplan.exec.WeightInit.initial(g, v, 7);
                assertEquals(14 * 14, w.length);
                for (int i = 0; i < w.length; i++) assertEquals(i % 14 <= i / 14 ? 1f : 0f, w[i], v.name() + "[" + i + "]");
                checked++;
            }
        }
        assertEquals(2, checked);
        RunResult base = run(Plan.baseline(s));
        assertNotEquals(base.iterations().get(0).loss(), base.iterations().get(1).loss(), "the weights changed");
        Plan swap = everywhere(s, t -> Decision.Swap.auto());
        Plan rec = everywhere(s, t -> Decision.RECOMPUTE);
        assertTrue(swap.changedCount() > 0 && rec.changedCount() > 0);
        assertEquals(base.weightsSha256(), run(swap).weightsSha256(), "swap, " + swap.changedCount() + " tensors");
        assertEquals(base.weightsSha256(), run(rec).weightsSha256(), "recompute, " + rec.changedCount() + " tensors");
        // in place: Clip's output shares its input, and gradients share the output gradient where allowed
        Plan p = Plan.baseline(s);
        int shared = 0;
        for (memplan.graph.Node n : g.nodes()) {
            int gIn = n.inputs().length == 0 ? -1 : s.gradOfValue(g.storageOf(n.inputs()[0]));
            int gOut = s.gradOfValue(g.storageOf(n.outputs()[0]));
            if (n.op().mayRunInPlace()) {
                Plan q = p.with(s.tensorOfValue(n.outputs()[0]), new Decision.Share(s.tensorOfValue(n.inputs()[0])));
                if (PlanValidator.problems(q).isEmpty()) { p = q; shared++; }
            }
            if (gIn >= 0 && gOut >= 0 && n.op().inferShapes(n.inShapes()).get(0).numel() == n.inShapes().get(0).numel()) {
                Plan q = p.with(gIn, new Decision.Share(gOut));
                if (PlanValidator.problems(q).isEmpty()) { p = q; shared++; }
            }
        }
        assertTrue(shared > 0);
        assertEquals(base.weightsSha256(), run(p).weightsSha256(), "in place, " + shared + " shared");
    }

    /** A bool graph input (an attention mask as exported) is uploaded as packed bytes and used by Where and Cast. */
    @Test
    void boolMaskInputTrains() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6).input("mask", 9, "N", 6);
        String kept = b.node("Where", List.of("mask", "x", b.scalar(0f)));
        String scaled = b.node("Mul", List.of(kept, b.node("Cast", List.of("mask"), i("to", FLOAT))));
        String y = b.node("Gemm", List.of(scaled, b.weight("w", 3, 6), b.weight("bias", 3)), i("transB", 1));
        b.output(y);
        ModelDef m = b.load(dir);
        Graph g = Graph.instantiate(m, 5, DType.FP32);
        var data = new memplan.exec.SyntheticData(g, 7);
        int[] dv = data.dataValues();
        for (int k = 0; k < dv.length; k++)
            assertEquals(memplan.backend.cpu.Buf.slots(g.value(dv[k]).shape().numel(), g.value(dv[k]).dtype()), data.words(0, k).length,
                    g.value(dv[k]).name() + " " + g.value(dv[k]).dtype());
        Schedule s = TrainingGraph.derive(g, Optimizer.SGD);
        RunResult base = run(Plan.baseline(s));
        assertEquals(base.weightsSha256(), run(everywhere(s, t -> Decision.RECOMPUTE)).weightsSha256());
    }
}

package memplan.train;

import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.graph.GraphException;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.CrossEntropy;
import memplan.ops.Embedding;
import memplan.ops.Flatten;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.MseLoss;
import memplan.ops.ReLU;
import memplan.ops.Reshape;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Derivation of one training iteration from small hand-made graphs. */
class TrainingGraphTest {
    static Input floats(String... dims) {
        return new Input(List.of(dims), null);
    }

    static Input labels() {
        return new Input(List.of("N"), DType.INT64);
    }

    static Schedule derive(ModelDef m, int batch, Optimizer o) {
        return TrainingGraph.derive(Graph.instantiate(m, batch, DType.FP32), o);
    }

    static List<String> labels(Schedule s) {
        List<String> l = new ArrayList<>();
        for (Step st : s.steps()) l.add(st.label());
        return l;
    }

    static int tensor(Schedule s, String name) {
        for (TensorInfo t : s.tensors()) if (t.name().equals(name)) return t.id();
        throw new AssertionError("no tensor " + name + " in " + s.tensors().stream().map(TensorInfo::name).toList());
    }

    static Step step(Schedule s, String label) {
        for (Step st : s.steps()) if (st.label().equals(label)) return st;
        throw new AssertionError("no step " + label + " in " + labels(s));
    }

    static List<Integer> ints(int[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    static int value(Graph g, String name) {
        for (Value v : g.values()) if (v.name().equals(name)) return v.id();
        throw new AssertionError("no value " + name);
    }

    /** x -> fc -> relu -> CrossEntropy(., y). */
    static ModelDef chain() {
        ModelDef.Builder b = ModelDef.builder("chain");
        String x = b.add("x", floats("N", "4"));
        String y = b.add("y", labels());
        String fc = b.add("fc", new Linear(3, true), x);
        String r = b.add("relu", new ReLU(), fc);
        b.add("loss", new CrossEntropy(1), r, y);
        return b.build();
    }

    @Test
    void stepsAreForwardThenBackwardInReverseThenOneUpdatePerParameter() {
        Schedule s = derive(chain(), 2, Optimizer.SGD);
        assertEquals(List.of("fc", "relu", "loss", "loss backward", "relu backward", "fc backward",
                "update fc.weight", "update fc.bias"), labels(s));
        List<Phase> phases = s.steps().stream().map(Step::phase).toList();
        assertEquals(List.of(Phase.FORWARD, Phase.FORWARD, Phase.FORWARD, Phase.BACKWARD, Phase.BACKWARD, Phase.BACKWARD,
                Phase.OPTIMIZER, Phase.OPTIMIZER), phases);
        for (int i = 0; i < s.stepCount(); i++) assertEquals(i, s.step(i).index());
        Graph g = s.graph();
        Node fc = g.node("fc");
        assertEquals(0, s.forwardStep(fc.index()));
        assertEquals(5, s.backwardStep(fc.index()));
        assertEquals(-1, s.forwardStep(g.node("x").index()), "inputs have no step");
        assertEquals(tensor(s, "loss"), s.lossTensor());
        // relu backward reads relu's output (what ReLU saves) and the gradient of its output; writes grad(fc).
        Step rb = step(s, "relu backward");
        assertEquals(List.of(tensor(s, "grad(relu)"), tensor(s, "relu")), ints(rb.reads()));
        assertEquals(List.of(tensor(s, "grad(fc)")), ints(rb.writes()));
        // fc backward reads grad(fc) and its input x; writes only parameter gradients. Its weight would serve only
        // x's gradient, which data does not get (PyTorch's addmm saves it only then).
        Step fb = step(s, "fc backward");
        assertEquals(List.of(tensor(s, "grad(fc)"), tensor(s, "x")), ints(fb.reads()));
        assertEquals(List.of(tensor(s, "grad(fc.weight)"), tensor(s, "grad(fc.bias)")), ints(fb.writes()));
        // The loss step reads the target and the saved log-softmax, and seeds grad(relu).
        Step lb = step(s, "loss backward");
        assertEquals(List.of(tensor(s, "y"), tensor(s, "loss.log_softmax")), ints(lb.reads()));
        assertEquals(List.of(tensor(s, "grad(relu)")), ints(lb.writes()));
        // SGD: one momentum buffer per parameter, read and written by its update.
        Step u = step(s, "update fc.weight");
        assertEquals(List.of(tensor(s, "grad(fc.weight)"), tensor(s, "fc.weight"), tensor(s, "fc.weight.momentum")), ints(u.reads()));
        assertEquals(List.of(tensor(s, "fc.weight"), tensor(s, "fc.weight.momentum")), ints(u.writes()));
        assertEquals(4L * 12, u.flops());
    }

    @Test
    void adamKeepsTwoStatesPerParameter() {
        Schedule s = derive(chain(), 2, Optimizer.ADAM);
        long states = s.tensors().stream().filter(t -> t.kind() == TensorKind.OPTIMIZER_STATE).count();
        assertEquals(4, states);
        assertEquals(TensorKind.OPTIMIZER_STATE, s.tensor(tensor(s, "fc.bias.exp_avg_sq")).kind());
        assertEquals(s.graph().value(value(s.graph(), "fc.bias")).id(), s.tensor(tensor(s, "fc.bias.exp_avg")).value());
    }

    @Test
    void dataInputsGetNoGradient() {
        Schedule s = derive(chain(), 2, Optimizer.SGD);
        Graph g = s.graph();
        assertEquals(-1, s.gradOfValue(value(g, "x")));
        assertEquals(-1, s.gradOfValue(value(g, "y")));
        for (TensorInfo t : s.tensors()) {
            assertNotEquals("grad(x)", t.name());
            assertNotEquals("grad(y)", t.name());
        }
        assertTrue(s.gradOfValue(value(g, "fc")) >= 0);
        assertEquals(TensorKind.ACTIVATION_GRAD, s.tensor(s.gradOfValue(value(g, "fc"))).kind());
        assertEquals(TensorKind.PARAM_GRAD, s.tensor(s.gradOfValue(value(g, "fc.weight"))).kind());
    }

    /** a = fc1(x); b = fc2(a); c = a + b (residual); loss(fc3(c)). grad(a) has two writers and is accumulated. */
    @Test
    void residualGradientIsAccumulatedIntoOneTensor() {
        ModelDef.Builder b = ModelDef.builder("residual");
        String x = b.add("x", floats("N", "4"));
        String y = b.add("y", labels());
        String a = b.add("a", new Linear(4, true), x);
        String bb = b.add("b", new Linear(4, true), a);
        String c = b.add("c", new Add(), a, bb);
        String o = b.add("out", new Linear(3, true), c);
        b.add("loss", new CrossEntropy(1), o, y);
        Schedule s = derive(b.build(), 2, Optimizer.SGD);
        assertEquals(List.of("a", "b", "c", "out", "loss", "loss backward", "out backward", "c backward", "b backward", "a backward",
                "update a.weight", "update a.bias", "update b.weight", "update b.bias", "update out.weight", "update out.bias"), labels(s));
        int gradA = tensor(s, "grad(a)");
        assertEquals(1, s.tensors().stream().filter(t -> t.name().equals("grad(a)")).count());
        Step add = step(s, "c backward");
        assertEquals(List.of(tensor(s, "grad(c)")), ints(add.reads()), "Add saves nothing");
        assertEquals(List.of(gradA, tensor(s, "grad(b)")), ints(add.writes()));
        Step fc2 = step(s, "b backward");
        assertTrue(ints(fc2.reads()).contains(gradA), "the second writer reads grad(a) to accumulate into it");
        assertTrue(ints(fc2.writes()).contains(gradA));
        assertTrue(ints(step(s, "a backward").reads()).contains(gradA));
    }

    /** GPT-2 style: the output projection reuses the embedding table. */
    @Test
    void tiedParametersHaveOneTensorOneGradientAndOneUpdate() {
        ModelDef.Builder b = ModelDef.builder("tied");
        String tok = b.add("tok", new Input(List.of("N", "T"), DType.INT64));
        String y = b.add("y", new Input(List.of("N", "T"), DType.INT64));
        String e = b.add("emb", new Embedding(50, 8), tok);
        b.add(new Layer("head", new Linear(50, false), List.of(e), Map.of("weight", "emb.weight")));
        b.add("loss", new CrossEntropy(-1), "head", y);
        b.dim("T", 5);
        Graph g = Graph.instantiate(b.build(), 2, DType.FP32);
        assertEquals(50L * 8, g.parameterCount(), "the tied table counts once");
        assertArrayEquals(g.node("emb").params(), g.node("head").params());
        Schedule s = TrainingGraph.derive(g, Optimizer.ADAM);
        assertEquals(1, s.tensors().stream().filter(t -> t.kind() == TensorKind.PARAM).count());
        assertEquals(1, s.tensors().stream().filter(t -> t.kind() == TensorKind.PARAM_GRAD).count());
        assertEquals(List.of("emb", "head", "loss", "loss backward", "head backward", "emb backward", "update emb.weight"), labels(s));
        int gw = tensor(s, "grad(emb.weight)");
        assertFalse(ints(step(s, "head backward").reads()).contains(gw), "the first writer starts the gradient");
        assertTrue(ints(step(s, "emb backward").reads()).contains(gw), "the second writer accumulates into it");
        assertTrue(ints(step(s, "emb backward").writes()).contains(gw));
        assertEquals(List.of(tensor(s, "grad(emb)"), tensor(s, "tok"), gw), ints(step(s, "emb backward").reads()),
                "Embedding reads its output gradient and the indices it saved");
    }

    /**
     * PyTorch adds a reused parameter's further gradients out of place (measured: an LSTM's R at every step), so the
     * second writer holds the new gradient and the new sum beside the old one; MemPlan's own baseline adds in place.
     */
    @Test
    void reusedParameterGradientIsAddedOutOfPlaceUnderPyTorch() {
        ModelDef.Builder b = ModelDef.builder("tied");
        String tok = b.add("tok", new Input(List.of("N", "T"), DType.INT64));
        String y = b.add("y", new Input(List.of("N", "T"), DType.INT64));
        String e = b.add("emb", new Embedding(50, 8), tok);
        b.add(new Layer("head", new Linear(50, false), List.of(e), Map.of("weight", "emb.weight")));
        b.add("loss", new CrossEntropy(-1), "head", y);
        b.dim("T", 5);
        Graph g = Graph.instantiate(b.build(), 2, DType.FP32);
        long table = 50L * 8 * 4;
        long[] extra = new long[2];
        for (FrameworkProfile fw : List.of(FrameworkProfile.GENERIC, FrameworkProfile.PYTORCH_CPU)) {
            Schedule s = TrainingGraph.derive(g, Optimizer.SGD, fw);
            Step first = step(s, "head backward"), second = step(s, "emb backward");
            long ws = second.workspace() < 0 ? 0 : s.tensor(second.workspace()).bytes();
            long wsFirst = first.workspace() < 0 ? 0 : s.tensor(first.workspace()).bytes();
            extra[fw == FrameworkProfile.GENERIC ? 0 : 1] = ws;
            if (fw == FrameworkProfile.PYTORCH_CPU) assertEquals(0, wsFirst, "the first writer starts the sum");
        }
        assertEquals(0, extra[0], "generic: added in place");
        assertEquals(2 * table, extra[1], "pytorch-cpu: the new gradient and the new sum");
    }

    /** x -> fc -> Reshape -> Flatten -> fc2: the views share fc's tensor and its gradient, and get no steps. */
    @Test
    void viewsShareStorageAndGradientAndAllocateNothing() {
        ModelDef.Builder b = ModelDef.builder("views");
        String x = b.add("x", floats("N", "12"));
        String y = b.add("y", labels());
        String fc = b.add("fc", new Linear(12, true), x);
        String r = b.add("r", new Reshape(List.of(0, 3, 4)), fc);
        String f = b.add("f", new Flatten(1), r);
        String o = b.add("fc2", new Linear(5, true), f);
        b.add("loss", new CrossEntropy(1), o, y);
        Schedule s = derive(b.build(), 2, Optimizer.SGD);
        Graph g = s.graph();
        int fcT = s.tensorOfValue(value(g, "fc"));
        assertEquals(fcT, s.tensorOfValue(value(g, "r")));
        assertEquals(fcT, s.tensorOfValue(value(g, "f")));
        assertEquals(value(g, "fc"), g.storageOf(value(g, "f")));
        int grad = s.gradOfValue(value(g, "fc"));
        assertTrue(grad >= 0);
        assertEquals(grad, s.gradOfValue(value(g, "r")));
        assertEquals(grad, s.gradOfValue(value(g, "f")));
        assertEquals(-1, s.forwardStep(g.node("r").index()));
        assertEquals(-1, s.backwardStep(g.node("f").index()));
        assertEquals(List.of("fc", "fc2", "loss", "loss backward", "fc2 backward", "fc backward",
                "update fc.weight", "update fc.bias", "update fc2.weight", "update fc2.bias"), labels(s));
        for (TensorInfo t : s.tensors()) assertFalse(t.name().equals("r") || t.name().equals("f") || t.name().startsWith("grad(r"),
                "a view has no tensor of its own: " + t.name());
        // fc2 reads its input through the view, i.e. fc's tensor.
        assertTrue(ints(step(s, "fc2").reads()).contains(fcT));
        assertTrue(ints(step(s, "fc2 backward").writes()).contains(grad));
    }

    @Test
    void branchesThatDoNotReachTheLossHaveNoBackward() {
        ModelDef.Builder b = ModelDef.builder("branch");
        String x = b.add("x", floats("N", "4"));
        String y = b.add("y", floats("N", "2"));
        String h = b.add("h", new Linear(2, true), x);
        b.add("aux_head", new Linear(7, true), h); // computed, never used by the loss
        b.add("loss", new MseLoss(), h, y);
        Schedule s = derive(b.build(), 2, Optimizer.SGD);
        assertEquals(List.of("h", "aux_head", "loss", "loss backward", "h backward", "update h.weight", "update h.bias"), labels(s));
        assertEquals(-1, s.gradOfValue(value(s.graph(), "aux_head.weight")));
    }

    @Test
    void modelWithoutALossIsAClearError() {
        ModelDef.Builder b = ModelDef.builder("noloss");
        String x = b.add("x", floats("N", "4"));
        b.add("fc", new Linear(2, true), x);
        Graph g = Graph.instantiate(b.build(), 2, DType.FP32);
        GraphException e = assertThrows(GraphException.class, () -> TrainingGraph.derive(g, Optimizer.SGD));
        assertEquals("noloss: at layers: the model has no loss layer: add a CrossEntropy or MseLoss layer whose inputs "
                + "are the output and a target Input", e.getMessage());
    }

    @Test
    void tensorIdsAreDenseAndBytesMatchShapes() {
        Schedule s = derive(chain(), 3, Optimizer.ADAM);
        for (int i = 0; i < s.tensorCount(); i++) {
            TensorInfo t = s.tensor(i);
            assertEquals(i, t.id());
            assertEquals(t.shape().numel() * t.dtype().bytes, t.bytes(), t.name());
        }
        assertEquals(DType.INT64, s.tensor(tensor(s, "y")).dtype());
        assertEquals(24L, s.tensor(tensor(s, "y")).bytes());
    }

    /** Mul(x, x): the backward step writes x's gradient (twice, accumulating) but must not read it before. */
    @Test
    void aValueUsedTwiceByOneNodeGetsItsGradientWrittenNotRead() {
        var b = ModelDef.builder("square");
        String x = b.add("x", floats("N", "4"));
        x = b.add("fc", new Linear(4, true), x);
        String sq = b.add("sq", new memplan.ops.Mul(), x, x);
        b.add("loss", new MseLoss(), sq, b.add("t", floats("N", "4")));
        Schedule s = derive(b.build(), 2, Optimizer.SGD);
        Step st = step(s, "sq backward");
        int g = tensor(s, "grad(fc)");
        assertTrue(ints(st.writes()).contains(g));
        assertFalse(ints(st.reads()).contains(g), "reads " + ints(st.reads()));
        memplan.lower.Lowering.lower(memplan.plan.Plan.baseline(s), memplan.sim.DeviceModel.preset("cpu")); // lowers
    }
}

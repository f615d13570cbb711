package memplan.profile;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.CrossEntropy;
import memplan.ops.Dropout;
import memplan.ops.Flatten;
import memplan.ops.GELU;
import memplan.ops.Input;
import memplan.ops.LayerNorm;
import memplan.ops.Linear;
import memplan.ops.ReLU;
import memplan.ops.Reshape;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;
import memplan.train.TrainingGraph;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Invariants of derivation, liveness and the baseline profile over random residual MLPs. */
class ScheduleInvariantsProperties {
    /** A recipe: each int picks a block kind and a width. */
    @Provide
    Arbitrary<List<Integer>> recipes() {
        return Arbitraries.integers().between(0, 59).list().ofMinSize(1).ofMaxSize(12);
    }

    static Schedule build(List<Integer> recipe, int batch, Optimizer o) {
        ModelDef.Builder b = ModelDef.builder("random");
        String x = b.add("x", new Input(List.of("N", "6"), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        int width = 6, i = 0;
        for (int r : recipe) {
            String n = "l" + i++;
            int w = 2 + r % 6;
            switch (r / 6) {
                case 0, 1 -> { x = b.add(n, new Linear(w, r % 2 == 0), x); width = w; }
                case 2 -> x = b.add(n, new ReLU(), x);
                case 3 -> x = b.add(n, new GELU(), x);
                case 4 -> x = b.add(n, new Dropout(0.1), x);
                case 5 -> x = b.add(n, new LayerNorm(1e-5), x);
                case 6, 7 -> { // residual: x + Linear(x)
                    String h = b.add(n + "_fc", new Linear(width, true), x);
                    x = b.add(n, new Add(), x, h);
                }
                case 8 -> { // views: [N, w] -> [N, 1, w] -> [N, w]
                    String v = b.add(n + "_r", new Reshape(List.of(0, 1, -1)), x);
                    x = b.add(n, new Flatten(1), v);
                }
                default -> { x = b.add(n, new Linear(width, false), x); }
            }
        }
        x = b.add("head", new Linear(3, true), x);
        b.add("loss", new CrossEntropy(1), x, y);
        return TrainingGraph.derive(Graph.instantiate(b.build(), batch, DType.FP32), o);
    }

    @Property(tries = 150)
    void invariants(@ForAll("recipes") List<Integer> recipe, @ForAll boolean adam) {
        Schedule s = build(recipe, 3, adam ? Optimizer.ADAM : Optimizer.SGD);
        Liveness l = Liveness.of(s);
        MemoryProfile p = MemoryProfile.of(s, l);

        // Phases in order: forward, then backward, then optimizer.
        Phase prev = Phase.FORWARD;
        for (Step st : s.steps()) {
            assertTrue(st.phase().compareTo(prev) >= 0, "phase order at " + st.label());
            prev = st.phase();
        }
        long persistent = 0;
        for (TensorInfo t : s.tensors()) {
            if (t.kind().persistent() || t.kind() == TensorKind.DATA) persistent += t.bytes();
            else if (l.last(t.id()) >= 0) {
                // A non-persistent tensor is first touched by a step that writes it.
                Step first = s.step(l.first(t.id()));
                assertTrue(contains(first.writes(), t.id()) || first.workspace() == t.id(), t.name() + " read before written");
            }
        }
        // Every step's operands are live during it, so the peak covers the lower bound.
        for (Step st : s.steps()) {
            for (int t : st.reads()) assertTrue(l.liveAt(t, st.index()), s.tensor(t).name());
            for (int t : st.writes()) assertTrue(l.liveAt(t, st.index()), s.tensor(t).name());
        }
        assertTrue(p.peakBytes() >= p.lowerBound());
        assertTrue(p.peakBytes() >= persistent);
        for (int i = 0; i < p.liveBytes().length; i++) {
            long sum = 0;
            for (long[] role : p.liveByRole()) sum += role[i];
            assertEquals(p.liveBytes()[i], sum);
            assertTrue(p.liveBytes()[i] <= p.peakBytes());
        }
        // One gradient and one update per trainable parameter; optimizer state per parameter.
        long params = s.tensors().stream().filter(t -> t.kind() == TensorKind.PARAM).count();
        assertEquals(params, s.tensors().stream().filter(t -> t.kind() == TensorKind.PARAM_GRAD).count());
        assertEquals(params, s.steps().stream().filter(st -> st.phase() == Phase.OPTIMIZER).count());
        assertEquals(params * s.optimizer().statesPerParam,
                s.tensors().stream().filter(t -> t.kind() == TensorKind.OPTIMIZER_STATE).count());
        // The simulator's baseline holds exactly the profile's peak.
        assertEquals(p.peakBytes(), Simulator.simulate(Plan.baseline(s), DeviceModel.preset("h100")).peakBytes());
    }

    static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }
}

package memplan.sim;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.*;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import memplan.lower.Allocator;
import memplan.lower.Lowering;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class SimulatorSmokeTest {
    static Schedule chain(int layers) {
        ModelDef.Builder b = ModelDef.builder("chain");
        String x = b.add("x", new Input(java.util.List.of("N", "64"), null));
        String y = b.add("y", new Input(java.util.List.of("N"), DType.INT64));
        for (int i = 0; i < layers; i++) {
            x = b.add("fc" + i, new Linear(64, true), x);
            x = b.add("relu" + i, new ReLU(), x);
        }
        x = b.add("out", new Linear(10, true), x);
        b.add("loss", new CrossEntropy(1), x, y);
        return TrainingGraph.derive(Graph.instantiate(b.build(), 1024, DType.FP32), Optimizer.SGD);
    }

    @Test
    void baselinePlanPredictsTheProfilePeak() {
        Schedule s = chain(6);
        SimResult r = Simulator.simulate(Plan.baseline(s), DeviceModel.preset("h100"));
        assertEquals(MemoryProfile.of(s).peakBytes(), r.peakBytes());
        assertEquals(0.0, r.overhead(), 1e-9);
        var placement = Allocator.place(Lowering.lower(Plan.baseline(s), DeviceModel.preset("h100")));
        assertTrue(placement.arenaBytes() >= r.peakBytes());
    }

    @Test
    void recomputeAndSwapLowerThePeak() {
        Schedule s = chain(20);
        DeviceModel dev = DeviceModel.preset("h100");
        long base = Simulator.simulate(Plan.baseline(s), dev).peakBytes();
        Plan rec = Plan.baseline(s);
        Plan swp = Plan.baseline(s);
        for (var t : s.tensors()) {
            if ((t.name().startsWith("relu") || t.name().startsWith("fc")) && !t.name().contains(".") && !t.name().endsWith("0")) rec = rec.with(t.id(), Decision.RECOMPUTE);
            if (t.name().startsWith("relu")) swp = swp.with(t.id(), Decision.Swap.auto());
        }
        SimResult r = Simulator.simulate(rec, dev);
        SimResult w = Simulator.simulate(swp, dev);
        System.out.println("base " + base + " rec " + r.peakBytes() + " ovh " + r.overhead() + " swap " + w.peakBytes() + " ovh " + w.overhead() + " moved " + w.bytesMoved());
        assertTrue(r.peakBytes() < base, "recompute lowers the peak");
        assertTrue(w.peakBytes() < base, "swap lowers the peak");
        assertTrue(r.recomputeSeconds() > 0);
        assertTrue(w.bytesMoved() > 0);
    }
}

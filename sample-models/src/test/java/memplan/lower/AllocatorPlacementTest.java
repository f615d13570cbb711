package memplan.lower;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.plan.Plan;
import memplan.planner.InfeasibleBudgetException;
import memplan.planner.Planner;
import memplan.samples.SampleModels;
import memplan.planner.Planners;
import memplan.sim.DeviceModel;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The allocator's placement, checked the way tinygrad checks its planner: not golden offsets, but that no two
 * buffers live at the same instruction overlap in the arena, that each fits inside it, and that the arena holds
 * the peak of live bytes — for zoo models under plans that share, swap, recompute and compress.
 */
class AllocatorPlacementTest {
    static final DeviceModel DEV = DeviceModel.preset("h100");
    static final List<String> PLANNERS = List.of("baseline", "share", "swap", "checkpoint-sqrt", "compress",
            "share+swap");

    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama", "resnet18", "unet-small",
            "gpt2-small"})
    void liveBuffersNeverOverlap(String model) {
        Schedule s = TrainingGraph.derive(Graph.instantiate(SampleModels.load(model), 2, DType.FP32), Optimizer.ADAM);
        long basePeak = Lowering.lower(Plan.baseline(s), DEV).peakBytes();
        int checked = 0;
        for (String name : PLANNERS) {
            Plan p;
            try {
                p = Planners.named(name).plan(s, name.equals("baseline") ? Planner.MIN_PEAK : basePeak / 2, DEV);
            } catch (InfeasibleBudgetException e) {
                p = Planners.named(name).plan(s, Planner.MIN_PEAK, DEV);
            }
            ExecutionSchedule es = Lowering.lower(p, DEV);
            Allocator.Placement placement = Allocator.place(es);
            assertTrue(placement.arenaBytes() >= es.peakBytes(), model + "/" + name + ": arena below the peak");
            assertEquals(es.peakBytes(), placement.peakLiveBytes(), model + "/" + name);
            checkDisjoint(model + "/" + name, placement, es.instrs().size());
            checked++;
        }
        assertEquals(PLANNERS.size(), checked);
    }

    /** At every instruction, the live buffers sorted by offset must not run into each other or past the arena. */
    static void checkDisjoint(String what, Allocator.Placement p, int positions) {
        long maxLive = 0;
        for (int pos = 0; pos < positions; pos++) {
            List<Buffer> live = new ArrayList<>();
            for (Buffer b : p.buffers()) if (b.liveAt(pos)) live.add(b);
            live.sort(Comparator.comparingLong(Buffer::offset));
            long liveBytes = 0;
            for (int i = 0; i < live.size(); i++) {
                Buffer b = live.get(i);
                liveBytes += b.bytes();
                if (b.offset() < 0 || b.offset() + b.bytes() > p.arenaBytes())
                    fail(what + ": buffer " + b.id() + " [" + b.offset() + ", +" + b.bytes() + ") outside the arena of "
                            + p.arenaBytes() + " bytes");
                if (i + 1 < live.size() && b.offset() + b.bytes() > live.get(i + 1).offset())
                    fail(what + ": at instruction " + pos + " buffers " + b.id() + " [" + b.offset() + ", +" + b.bytes()
                            + ") and " + live.get(i + 1).id() + " [" + live.get(i + 1).offset() + ") overlap");
            }
            maxLive = Math.max(maxLive, liveBytes);
        }
        assertTrue(maxLive <= p.arenaBytes(), what);
    }
}

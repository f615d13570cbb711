package memplan.parallel;

import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TensorKind;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IterationTimeTest {
    static final Network NV = Network.preset("nvlink"), IB = Network.preset("ib-ndr");

    /** The ZeRO paper's section 7: data parallelism and P_os+g send 2 Psi per rank, P_os+g+p 3 Psi (ring, n large). */
    @Test
    void dataParallelVolumesAreTheZeroPapers() {
        Schedule s = ParallelProfileTest.mlp(4, Optimizer.ADAM, 2048, 2048, 10);
        long psi = ParallelProfileTest.bytesOf(s, TensorKind.PARAM);
        int n = 8;
        long ring = psi * (n - 1) / n;
        assertEquals(2 * ring, IterationTime.of(s, Layout.parse(n, null, "none"), 1e-3, NV, IB).dataParallelBytes(),
                8);
        assertEquals(2 * ring, IterationTime.of(s, Layout.parse(n, null, "zero2"), 1e-3, NV, IB).dataParallelBytes(),
                8);
        assertEquals(3 * ring, IterationTime.of(s, Layout.parse(n, null, "zero3"), 1e-3, NV, IB).dataParallelBytes(),
                8);
        assertEquals(0, IterationTime.of(s, Layout.single(), 1e-3, NV, IB).dataParallelBytes());
    }

    @Test
    void ringCollectivesAndTheTimeOfALayout() {
        assertEquals(2.0 * 3 / 4 * 450e9 / 450e9 + 2 * 3 * 3e-6, NV.allReduceSeconds(450_000_000_000L, 4), 1e-9);
        assertEquals(0, NV.allReduceSeconds(1 << 20, 1));
        Schedule s = ParallelProfileTest.mlp(64, Optimizer.ADAM, 2048, 2048, 2048, 10);
        IterationTime one = IterationTime.of(s, Layout.single(), 0.01, NV, IB);
        assertEquals(0.01, one.iterationSeconds(), 1e-12);
        IterationTime tp = IterationTime.of(s, Layout.parse(0, "tp=4", null), 0.01, NV, IB);
        assertTrue(tp.tensorParallelBytes() > 0 && tp.computeSeconds() == 0.01 / 4);
        Layout pipe = new Layout(1, 1, 2, ShardMode.NONE, 4, PipelineSchedule.ONE_F_ONE_B, false, false, 1, true);
        IterationTime pp = IterationTime.of(s, pipe, 0.01, NV, IB);
        assertEquals(0.01 / 2, pp.bubbleSeconds(), 1e-12, "one stage time of bubble with two stages");
        assertTrue(pp.pipelineBytes() > 0);
        assertThrows(IllegalArgumentException.class, () -> Network.preset("carrier-pigeon"));
    }
}

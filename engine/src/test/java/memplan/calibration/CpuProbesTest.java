package memplan.calibration;

import memplan.exec.ProgressListener;
import memplan.graph.Graph;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.sim.OpCostClass;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probes run and measure what they should; their times are this machine's, so none is asserted. */
class CpuProbesTest {
    @Test
    void everyProbeModelIsAValidTrainingModel() {
        Map<String, String> m = CpuProbes.models();
        assertEquals(List.of(CpuProbes.OVERHEAD, CpuProbes.GEMM_SMALL, CpuProbes.GEMM_MID, CpuProbes.CONV,
                CpuProbes.MEMORY), new ArrayList<>(m.keySet()));
        for (var e : m.entrySet())
            assertTrue(TrainingGraph.derive(Graph.instantiate(ModelJson.parse(e.getValue(), e.getKey()), 1,
                    DType.FP32), Optimizer.SGD).stepCount() > 10, e.getKey());
    }

    @Test
    void theProbesMeasureEveryClassTheFitNeedsAndTheFitAcceptsThem() {
        List<Double> progress = new ArrayList<>();
        ProbeResults r = CpuProbes.measure(new ProgressListener() {
            @Override
            public void progress(double fraction, String what) {
                progress.add(fraction);
            }
        }, () -> false);
        assertEquals(OpCostClass.GEMM, r.sample(CpuProbes.GEMM_SMALL, Phase.FORWARD).costClass());
        assertEquals(OpCostClass.GEMM, r.sample(CpuProbes.GEMM_MID, Phase.BACKWARD).costClass());
        assertEquals(OpCostClass.CONV, r.sample(CpuProbes.CONV, Phase.BACKWARD).costClass());
        assertEquals(OpCostClass.MEMORY, r.sample(CpuProbes.MEMORY, Phase.FORWARD).costClass());
        // the mid-size product really is larger, and a backward step runs two products
        assertEquals(2 * r.sample(CpuProbes.GEMM_MID, Phase.FORWARD).flops(),
                r.sample(CpuProbes.GEMM_MID, Phase.BACKWARD).flops());
        for (ProbeSample s : r.samples()) assertTrue(s.seconds() > 0, s.toString());
        assertTrue(r.opSeconds() > 0 && r.inStepSeconds() > 0);
        assertEquals(1.0, progress.get(progress.size() - 1));
        CpuFit.fit(r); // a real machine's figures pass the model's checks
    }

    @Test
    void cancellingStopsTheProbes() {
        CalibrationException e = assertThrows(CalibrationException.class,
                () -> CpuProbes.measure(new ProgressListener() { }, () -> true));
        assertEquals("calibration of the cpu device cancelled", e.getMessage());
    }
}

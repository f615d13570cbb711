package memplan.calibration;

import memplan.sim.CpuCostModel;
import memplan.sim.OpCostClass;
import memplan.train.Phase;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The fit's arithmetic on synthetic probe times: no probe runs, nothing depends on this machine. */
class CpuFitTest {
    static final double IN_STEP = 5e-6;

    /** The probe times a CPU that behaves exactly like {@code m} would measure. */
    static ProbeResults synthetic(CpuCostModel m) {
        return new ProbeResults(List.of(
                sample(m, CpuProbes.GEMM_SMALL, OpCostClass.GEMM, Phase.FORWARD, 524_288, 49_152),
                sample(m, CpuProbes.GEMM_SMALL, OpCostClass.GEMM, Phase.BACKWARD, 1_048_576, 81_920),
                sample(m, CpuProbes.GEMM_MID, OpCostClass.GEMM, Phase.FORWARD, 134_217_728, 2_097_152),
                sample(m, CpuProbes.GEMM_MID, OpCostClass.GEMM, Phase.BACKWARD, 268_435_456, 3_670_016),
                sample(m, CpuProbes.CONV, OpCostClass.CONV, Phase.FORWARD, 115_605_504, 1_753_088),
                sample(m, CpuProbes.CONV, OpCostClass.CONV, Phase.BACKWARD, 231_211_008, 2_654_208),
                sample(m, CpuProbes.MEMORY, OpCostClass.MEMORY, Phase.FORWARD, 1_048_576, 8_388_608)),
                m.overheadSeconds(), IN_STEP, m.optimizerOverheadSeconds(), 1.5);
    }

    private static ProbeSample sample(CpuCostModel m, String probe, OpCostClass c, Phase ph, long flops, long bytes) {
        double work = c == OpCostClass.MEMORY ? bytes / m.memoryBytesPerSecond()
                : flops / m.flopsPerSecond(c, ph == Phase.BACKWARD, flops);
        return new ProbeSample(probe, c, ph, flops, bytes, IN_STEP + work);
    }

    @Test
    void recoversTheFiguresOfACpuThatBehavesLikeTheModel() {
        CpuCostModel truth = new CpuCostModel(30e-6, 2e-6, 3e9, 524_288, 6e9, 134_217_728, 25e9, 0.7, 0.45, 0.8);
        CpuCostModel fit = CpuFit.fit(synthetic(truth));
        assertEquals(truth.overheadSeconds(), fit.overheadSeconds(), 1e-15);
        assertEquals(truth.optimizerOverheadSeconds(), fit.optimizerOverheadSeconds(), 1e-15);
        assertEquals(truth.memoryBytesPerSecond(), fit.memoryBytesPerSecond(), 1e-6 * truth.memoryBytesPerSecond());
        assertEquals(truth.smallGemmFlopsPerSecond(), fit.smallGemmFlopsPerSecond(), 1e-3);
        assertEquals(truth.midGemmFlopsPerSecond(), fit.midGemmFlopsPerSecond(), 1e-3);
        assertEquals(truth.gemmBackwardShare(), fit.gemmBackwardShare(), 1e-12);
        assertEquals(truth.convShare(), fit.convShare(), 1e-12);
        assertEquals(truth.convBackwardShare(), fit.convBackwardShare(), 1e-12);
        // and so predicts the probes' own steps back
        assertEquals(truth.stepSeconds(null, Phase.OPTIMIZER, 1, 1 << 20),
                fit.stepSeconds(null, Phase.OPTIMIZER, 1, 1 << 20), 1e-15);
    }

    @Test
    void aMidSizeProductSlowerThanTheSmallOneIsFlattenedNotInverted() {
        // on a loaded machine the longer probe can come out slower; the curve then stays flat
        CpuCostModel truth = new CpuCostModel(30e-6, 2e-6, 3e9, 524_288, 6e9, 134_217_728, 25e9, 0.7, 0.45, 0.8);
        ProbeResults r = synthetic(truth);
        List<ProbeSample> s = new ArrayList<>(r.samples());
        ProbeSample mid = r.sample(CpuProbes.GEMM_MID, Phase.FORWARD);
        s.set(s.indexOf(mid), new ProbeSample(mid.probe(), mid.costClass(), mid.phase(), mid.flops(), mid.bytes(),
                IN_STEP + mid.flops() / 3e9));
        CpuCostModel fit = CpuFit.fit(new ProbeResults(s, r.opSeconds(), r.inStepSeconds(), r.optimizerSeconds(), 1));
        assertEquals(fit.smallGemmFlopsPerSecond(), fit.midGemmFlopsPerSecond(), 0);
    }

    @Test
    void aStepNoLongerThanTheFixedCostStillGivesAFiniteThroughput() {
        CpuCostModel truth = new CpuCostModel(30e-6, 2e-6, 3e9, 524_288, 6e9, 134_217_728, 25e9, 0.7, 0.45, 0.8);
        ProbeResults r = synthetic(truth);
        // an in-step cost above every time
        ProbeResults noisy = new ProbeResults(r.samples(), r.opSeconds(), 1.0, r.optimizerSeconds(), 1);
        CpuCostModel fit = CpuFit.fit(noisy);
        ProbeSample small = r.sample(CpuProbes.GEMM_SMALL, Phase.FORWARD);
        assertEquals(small.flops() / (CpuFit.MIN_WORK_SHARE * small.seconds()), fit.smallGemmFlopsPerSecond(),
                1e-6 * fit.smallGemmFlopsPerSecond());
    }

    @Test
    void quantilesInterpolateBetweenNeighbours() {
        assertEquals(2.5, CpuProbes.quantile(List.of(4.0, 1.0, 3.0, 2.0), 0.5), 1e-12);
        assertEquals(1.75, CpuProbes.quantile(List.of(4.0, 1.0, 3.0, 2.0), 0.25), 1e-12);
        assertEquals(7.0, CpuProbes.quantile(List.of(7.0), 0.25), 0);
        assertEquals(0.0, CpuProbes.quantile(List.of(), 0.25), 0);
    }

    @Test
    void aMissingProbeOrAZeroTimeIsReported() {
        CpuCostModel truth = new CpuCostModel(30e-6, 2e-6, 3e9, 524_288, 6e9, 134_217_728, 25e9, 0.7, 0.45, 0.8);
        ProbeResults r = synthetic(truth);
        List<ProbeSample> noConv = r.samples().stream().filter(x -> !x.probe().equals(CpuProbes.CONV)).toList();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CpuFit.fit(new ProbeResults(noConv, r.opSeconds(), r.inStepSeconds(), r.optimizerSeconds(), 1)));
        assertEquals("the probes measured no forward step of 'conv'", e.getMessage());
        List<ProbeSample> zero = r.samples().stream().map(x -> x.probe().equals(CpuProbes.MEMORY)
                ? new ProbeSample(x.probe(), x.costClass(), x.phase(), x.flops(), x.bytes(), 0) : x).toList();
        CalibrationException z = assertThrows(CalibrationException.class,
                () -> CpuFit.fit(new ProbeResults(zero, r.opSeconds(), r.inStepSeconds(), r.optimizerSeconds(), 1)));
        assertEquals("the memory probe measured no time (0.0 s); the cpu device cannot be calibrated",
                z.getMessage());
    }
}

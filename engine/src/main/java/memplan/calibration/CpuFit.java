package memplan.calibration;

import memplan.sim.CpuCostModel;
import memplan.train.Phase;

/**
 * Turns probe times into a {@link CpuCostModel}. A probe step's time is the in-step part of the fixed cost plus its
 * work, so throughputs come from the time beyond that part; the model's per-op cost is the whole fixed cost (the
 * executor's time between ops included), which a real iteration also pays once per op.
 */
public final class CpuFit {
    /** A step's work is at least this share of its time, so a noisy overhead cannot make a throughput infinite. */
    static final double MIN_WORK_SHARE = 0.1;

    private CpuFit() {
    }

    public static CpuCostModel fit(ProbeResults r) {
        double in = r.inStepSeconds();
        ProbeSample small = r.sample(CpuProbes.GEMM_SMALL, Phase.FORWARD);
        ProbeSample mid = r.sample(CpuProbes.GEMM_MID, Phase.FORWARD);
        double smallRate = small.flops() / work(small, in), midRate = mid.flops() / work(mid, in);
        // the curve needs the larger product to be the faster; noise on a machine at its limit can say otherwise
        midRate = Math.max(midRate, smallRate);
        ProbeSample mem = r.sample(CpuProbes.MEMORY, Phase.FORWARD);
        double bandwidth = mem.bytes() / work(mem, in);
        CpuCostModel curve = new CpuCostModel(r.opSeconds(), r.optimizerSeconds(), bandwidth, small.flops(),
                smallRate, mid.flops(),
                midRate, 1, 1, 1);
        ProbeSample midBack = r.sample(CpuProbes.GEMM_MID, Phase.BACKWARD);
        double gemmBack = midBack.flops() / work(midBack, in) / curve.gemmFlopsPerSecond(midBack.flops() / 2.0);
        ProbeSample conv = r.sample(CpuProbes.CONV, Phase.FORWARD);
        double convShare = conv.flops() / work(conv, in) / curve.gemmFlopsPerSecond(conv.flops());
        ProbeSample convBack = r.sample(CpuProbes.CONV, Phase.BACKWARD);
        double convBackShare = convBack.flops() / work(convBack, in)
                / (curve.gemmFlopsPerSecond(convBack.flops() / 2.0) * convShare);
        return new CpuCostModel(r.opSeconds(), r.optimizerSeconds(), bandwidth, small.flops(), smallRate,
                mid.flops(), midRate,
                gemmBack, convShare, convBackShare);
    }

    private static double work(ProbeSample s, double inStep) {
        if (!(s.seconds() > 0)) throw new CalibrationException("the " + s.probe() + " probe measured no time ("
                + s.seconds() + " s); the cpu device cannot be calibrated");
        return Math.max(s.seconds() - inStep, MIN_WORK_SHARE * s.seconds());
    }
}

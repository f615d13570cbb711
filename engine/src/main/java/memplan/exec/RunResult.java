package memplan.exec;

import memplan.sim.SimResult;
import memplan.sim.Timeline;

import java.util.List;

/**
 * A finished run: per-iteration results, the arena it used, a SHA-256 of the final weights (so two runs can be
 * compared), whether the plan was lossy, the measured timeline of the last iteration, the prediction, and the final
 * parameters in value order when the run was asked to keep them (else empty).
 */
public record RunResult(String backend, String device, List<IterationResult> iterations,
        long arenaBytes, String weightsSha256,
                        boolean lossy, boolean cancelled, Timeline measuredTimeline, SimResult predicted,
                        List<float[]> finalWeights) {

    public long measuredPeakBytes() {
        long p = 0;
        for (IterationResult r : iterations) p = Math.max(p, r.measuredPeakBytes());
        return p;
    }
}

package memplan.sim;

import memplan.ir.TensorRole;
import memplan.lower.ExecutionSchedule;

import java.util.Map;

/**
 * What the simulator predicts for a plan: peak device bytes and where, the breakdown at the peak, iteration time
 * against the baseline's, bytes moved over the host link, time lost to stalls, time spent recomputing, and the
 * timeline itself.
 */
public record SimResult(ExecutionSchedule execution, long peakBytes, int peakPosition, Map<TensorRole, Long> peakByRole,
                        double iterationSeconds, double baselineSeconds, long bytesToHost, long bytesFromHost,
                        double stallSeconds, double recomputeSeconds, Timeline timeline) {

    /** Added time over the baseline, as a fraction (0.25 = 25% slower). */
    public double overhead() {
        return baselineSeconds == 0 ? 0 : iterationSeconds / baselineSeconds - 1;
    }

    public long bytesMoved() {
        return bytesToHost + bytesFromHost;
    }
}

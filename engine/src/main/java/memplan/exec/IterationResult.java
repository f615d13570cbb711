package memplan.exec;

/** One measured training iteration beside its prediction. */
public record IterationResult(int iteration, float loss, long measuredPeakBytes,
        long predictedPeakBytes, double seconds,
                              double predictedSeconds, long deviceMemoryUsed) {
}

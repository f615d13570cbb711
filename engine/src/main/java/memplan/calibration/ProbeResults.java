package memplan.calibration;

import java.util.List;

/**
 * What the probes measured.
 *
 * @param samples        step times (lower quartile over runs) of every step of every probe
 * @param runs           per probe run, its iteration time against the sum of its steps' times: the executor's own
 *                       time per step
 * @param elapsedSeconds how long probing took
 */
public record ProbeResults(List<ProbeSample> samples, List<Run> runs, double elapsedSeconds) {
    public ProbeResults {
        samples = List.copyOf(samples);
        runs = List.copyOf(runs);
    }

    /**
     * One timed iteration of a probe: its steps, the bytes of its data batch (written before the first step), its
     * time, and the time its steps took.
     */
    public record Run(String probe, int steps, long dataBytes, double iterationSeconds, double stepSeconds) {
    }
}

package memplan.calibration;

import memplan.train.Phase;

import java.util.List;

/**
 * What the probes measured.
 *
 * @param samples         step times (lower quartile) per probe, op class and phase
 * @param opSeconds       iteration time of the overhead probe (tiny ops) divided by its ops: the cost of an op that
 *                        does no work, the executor's time between ops included
 * @param inStepSeconds   time (lower quartile) inside one of those tiny ops' steps, which the samples' times also
 *                        contain
 * @param optimizerSeconds time (lower quartile) of an optimizer update of a small parameter
 * @param elapsedSeconds  how long probing took
 */
public record ProbeResults(List<ProbeSample> samples, double opSeconds, double inStepSeconds, double optimizerSeconds,
                           double elapsedSeconds) {
    public ProbeResults {
        samples = List.copyOf(samples);
    }

    /** The sample of {@code probe} in {@code phase}. */
    public ProbeSample sample(String probe, Phase phase) {
        for (ProbeSample s : samples) if (s.probe().equals(probe) && s.phase() == phase) return s;
        throw new IllegalArgumentException("the probes measured no " + phase.name().toLowerCase() + " step of '"
                + probe + "'");
    }
}

package memplan.lower;

import memplan.train.Step;

/**
 * What lowering needs to know of a device to place automatic swaps: how long a step computes and how long a
 * transfer over the host link takes. The simulator's device model implements it; lowering stays below the
 * simulator.
 */
public interface StepCosts {
    /** Seconds one schedule step computes. */
    double stepSeconds(Step step);

    /** Seconds moving {@code bytes} between device and host takes. */
    double transferSeconds(long bytes);
}

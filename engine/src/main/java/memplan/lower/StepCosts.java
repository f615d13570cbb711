package memplan.lower;

import memplan.train.Schedule;
import memplan.train.Step;

/**
 * What lowering needs to know of a device to place automatic swaps: how long a step computes and how long a
 * transfer over the host link takes. The simulator's device model implements it; lowering stays below the
 * simulator.
 */
public interface StepCosts {
    /** Seconds one schedule step computes. */
    double stepSeconds(Step step);

    /** Seconds one step of {@code schedule} computes, where the cost depends on the op the step runs. */
    default double stepSeconds(Schedule schedule, Step step) {
        return stepSeconds(step);
    }

    /** Seconds moving {@code bytes} between device and host takes. */
    double transferSeconds(long bytes);
}

package memplan.calibration;

import memplan.sim.OpCostClass;
import memplan.train.Phase;

/**
 * The measured time (lower quartile over runs, mean over the probe's layers) of one kind of step of a probe: its
 * op class, phase, FLOPs and bytes per step.
 *
 * @param probe which probe ran it ({@link CpuProbes}' names)
 */
public record ProbeSample(String probe, OpCostClass costClass, Phase phase, long flops, long bytes,
                          double seconds) {
}

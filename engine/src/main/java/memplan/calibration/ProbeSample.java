package memplan.calibration;

import memplan.sim.OpCostClass;
import memplan.sim.ProductDims;
import memplan.train.Phase;

/**
 * The measured time of one step of a probe (lower quartile over runs): its op class, phase, the FLOPs its kernel
 * runs, its bytes, and for product classes the product's shape.
 *
 * @param probe  which probe ran it ({@link CpuProbes}' names)
 * @param opType the op's type ({@code "GELU"}), null for an optimizer update
 * @param dims   the product's shape, null for classes that stream memory
 */
public record ProbeSample(String probe, OpCostClass costClass, String opType, Phase phase, long flops, long bytes,
                          ProductDims dims, double seconds) {
}

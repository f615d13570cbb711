package memplan.sim;

import memplan.ops.Op;
import memplan.train.Phase;

/**
 * Step times of the CPU backend as measured on one machine: a fixed cost per op (the executor's and the kernel's
 * set-up), matrix-product throughput at a small and a mid-size product (interpolated on the logarithm of an op's
 * FLOPs, since small products run far below peak), convolution and backward passes as a share of that throughput,
 * and the bandwidth that memory-bound kernels reach. A step takes the fixed cost plus the longer of its compute and
 * its memory traffic.
 *
 * @param overheadSeconds        per op, including the executor's work between ops
 * @param optimizerOverheadSeconds per optimizer update of one parameter (a plain loop, no kernel set-up)
 * @param memoryBytesPerSecond   bytes read and written per second by elementwise kernels
 * @param smallGemmFlops         FLOPs of the small product probe
 * @param smallGemmFlopsPerSecond its forward throughput
 * @param midGemmFlops           FLOPs of the mid-size product probe
 * @param midGemmFlopsPerSecond  its forward throughput
 * @param gemmBackwardShare      backward product throughput / forward throughput at the same product size
 * @param convShare              forward convolution throughput / product throughput at the same FLOPs
 * @param convBackwardShare      backward convolution throughput / forward convolution throughput
 */
public record CpuCostModel(double overheadSeconds, double optimizerOverheadSeconds, double memoryBytesPerSecond,
                           double smallGemmFlops, double smallGemmFlopsPerSecond,
                           double midGemmFlops, double midGemmFlopsPerSecond,
                           double gemmBackwardShare, double convShare, double convBackwardShare) {

    public CpuCostModel {
        positive("memory bandwidth", memoryBytesPerSecond);
        positive("small product FLOPs", smallGemmFlops);
        positive("small product throughput", smallGemmFlopsPerSecond);
        positive("mid-size product FLOPs", midGemmFlops);
        positive("mid-size product throughput", midGemmFlopsPerSecond);
        positive("backward product share", gemmBackwardShare);
        positive("convolution share", convShare);
        positive("backward convolution share", convBackwardShare);
        nonNegative("per-op overhead", overheadSeconds);
        nonNegative("per-update overhead", optimizerOverheadSeconds);
        if (!(midGemmFlops > smallGemmFlops))
            throw new IllegalArgumentException("the mid-size product (" + midGemmFlops
                    + " FLOPs) must be larger than the small one (" + smallGemmFlops + ")");
    }

    private static void nonNegative(String what, double v) {
        if (!(v >= 0) || Double.isInfinite(v))
            throw new IllegalArgumentException(what + " must be a non-negative time, got " + v);
    }

    private static void positive(String what, double v) {
        if (!(v > 0) || Double.isInfinite(v))
            throw new IllegalArgumentException(what + " must be a positive finite number, got " + v);
    }

    /**
     * Forward product throughput at a product of {@code flops}: the two probes joined on a log scale, flat beyond
     * them.
     */
    public double gemmFlopsPerSecond(double flops) {
        if (flops <= smallGemmFlops) return smallGemmFlopsPerSecond;
        if (flops >= midGemmFlops) return midGemmFlopsPerSecond;
        double t = Math.log(flops / smallGemmFlops) / Math.log(midGemmFlops / smallGemmFlops);
        return Math.exp(Math.log(smallGemmFlopsPerSecond) * (1 - t) + Math.log(midGemmFlopsPerSecond) * t);
    }

    /**
     * Throughput of one op's step. A backward step runs two products the size of the forward one (input and weight
     * gradients), so its size on the curve is half its FLOPs.
     */
    public double flopsPerSecond(OpCostClass c, boolean backward, double flops) {
        double size = backward ? flops / 2 : flops;
        double r = gemmFlopsPerSecond(size);
        return switch (c) {
            case GEMM -> backward ? r * gemmBackwardShare : r;
            case CONV -> backward ? r * convShare * convBackwardShare : r * convShare;
            case MEMORY, VIEW -> r;
        };
    }

    /** Seconds of one step of an op (or, with {@code op} null, an optimizer update). */
    public double stepSeconds(Op op, Phase phase, long flops, long bytes) {
        if (op == null) return optimizerOverheadSeconds + bytes / memoryBytesPerSecond;
        OpCostClass c = OpCostClass.of(op);
        if (c == OpCostClass.VIEW) return overheadSeconds;
        double compute = flops / flopsPerSecond(c, phase == Phase.BACKWARD, flops);
        return overheadSeconds + Math.max(compute, bytes / memoryBytesPerSecond);
    }
}

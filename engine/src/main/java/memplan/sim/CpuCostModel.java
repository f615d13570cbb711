package memplan.sim;

import memplan.backend.cpu.Gemm;
import memplan.graph.Node;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorKind;

import java.util.List;

/**
 * Step times of the CPU backend as measured on one machine. Every step pays the executor's own time per step
 * ({@code gapSeconds}: arena bookkeeping and dispatch around the kernel); its kernel then takes, by op class and
 * phase, either its FLOPs at the throughput measured for the most alike product shapes ({@link ProductPoint}s,
 * weighted by inverse distance on log sizes, so a probe's own shape predicts exactly), or a fixed cost per call
 * plus its bytes at the bandwidth of its op type or, where the probes did not run that type, of its class
 * ({@link ClassCost}). A class or phase the probes did not measure uses the pointwise kernels' figures, and a
 * product class without points the plain products'.
 *
 * @param gapSeconds  per step, outside the kernel
 * @param iterationSeconds per iteration, outside the steps (the executor's set-up of a pass), charged to the
 *                    schedule's first step
 * @param classCosts  per call and bandwidth of the classes that stream memory (and of optimizer updates)
 * @param products    throughputs measured at product shapes
 */
public record CpuCostModel(double gapSeconds, double iterationSeconds, List<ClassCost> classCosts,
                           List<ProductPoint> products) {

    /**
     * A class's fixed cost per call and the bandwidth of its kernels in one phase: of one op type of the class, or
     * with {@code opType} null of the whole class.
     */
    public record ClassCost(OpCostClass costClass, String opType, Phase phase, double callSeconds,
                            double bytesPerSecond) {
        public ClassCost {
            nonNegative(costClass.label() + " per-call cost", callSeconds);
            positive(costClass.label() + " bandwidth", bytesPerSecond);
        }

        public double seconds(long bytes) {
            return callSeconds + bytes / bytesPerSecond;
        }
    }

    /** A measured throughput of one product class in one phase at one product shape. */
    public record ProductPoint(OpCostClass costClass, Phase phase, ProductDims dims, double flopsPerSecond) {
        public ProductPoint {
            if (!costClass.product()) throw new IllegalArgumentException(costClass.label() + " is not a product class");
            positive(costClass.label() + " throughput", flopsPerSecond);
        }
    }

    public CpuCostModel {
        nonNegative("per-step cost", gapSeconds);
        nonNegative("per-iteration cost", iterationSeconds);
        classCosts = List.copyOf(classCosts);
        products = List.copyOf(products);
        if (find(classCosts, OpCostClass.POINTWISE, null, Phase.FORWARD) == null)
            throw new IllegalArgumentException("the model needs the pointwise kernels' forward cost");
        if (find(classCosts, OpCostClass.OPTIMIZER, null, Phase.OPTIMIZER) == null)
            throw new IllegalArgumentException("the model needs the optimizer update's cost");
        if (products.stream().noneMatch(p -> p.costClass() == OpCostClass.PRODUCT && p.phase() == Phase.FORWARD))
            throw new IllegalArgumentException("the model needs at least one forward product throughput");
    }

    private static ClassCost find(List<ClassCost> costs, OpCostClass c, String type, Phase ph) {
        for (ClassCost k : costs)
            if (k.costClass() == c && k.phase() == ph && (type == null ? k.opType() == null : type.equals(k.opType())))
                return k;
        return null;
    }

    /**
     * The cost of op type {@code type} of class {@code c} in {@code phase}: the type's as measured, else its
     * class's, else the class's in the other phase, else the pointwise kernels'.
     */
    public ClassCost cost(OpCostClass c, String type, Phase phase) {
        ClassCost k = type == null ? null : find(classCosts, c, type, phase);
        if (k == null) k = find(classCosts, c, null, phase);
        if (k == null && phase != Phase.OPTIMIZER) k = find(classCosts, c, null, phase == Phase.FORWARD
                ? Phase.BACKWARD : Phase.FORWARD);
        if (k == null) k = find(classCosts, OpCostClass.POINTWISE, null, phase);
        return k != null ? k : find(classCosts, OpCostClass.POINTWISE, null, Phase.FORWARD);
    }

    /**
     * Throughput of class {@code c} in {@code phase} at {@code dims}: the geometric mean of the measured points of
     * that class and phase (else plain products of that phase, else forward products) weighted by 1/d^4, d the
     * log-size distance; a point at the same shape is returned as it is.
     */
    public double flopsPerSecond(OpCostClass c, Phase phase, ProductDims dims) {
        List<ProductPoint> pts = points(c, phase);
        if (pts.isEmpty()) pts = points(OpCostClass.PRODUCT, phase);
        if (pts.isEmpty()) pts = points(OpCostClass.PRODUCT, Phase.FORWARD);
        // a plain product small enough to run in Java is not like one that goes to OpenBLAS beside it: the two
        // differ by the staging and the call (tiny-mlp's 8 x 32 x 64 products ran at about twice the throughput
        // interpolated between a Java 8 x 32 x 32 and an OpenBLAS 8 x 32 x 128), so points of its own path count
        if (c == OpCostClass.PRODUCT && !pts.isEmpty()) {
            boolean nativeHere = runsNative(dims);
            List<ProductPoint> same = pts.stream().filter(p -> runsNative(p.dims()) == nativeHere).toList();
            if (!same.isEmpty()) pts = same;
        }
        double wSum = 0, logSum = 0, exactSum = 0;
        int exact = 0;
        for (ProductPoint p : pts) {
            double d2 = dims.distanceSquared(p.dims());
            if (d2 < 1e-12) {
                exactSum += Math.log(p.flopsPerSecond());
                exact++;
                continue;
            }
            double w = 1 / (d2 * d2);
            wSum += w;
            logSum += w * Math.log(p.flopsPerSecond());
        }
        return Math.exp(exact > 0 ? exactSum / exact : logSum / wSum);
    }

    /** Whether the CPU backend runs one product of these sizes on OpenBLAS. */
    private static boolean runsNative(ProductDims d) {
        return Gemm.runsNative((int) Math.min(Integer.MAX_VALUE, d.m()), (int) Math.min(Integer.MAX_VALUE, d.n()),
                (int) Math.min(Integer.MAX_VALUE, d.k()));
    }

    private List<ProductPoint> points(OpCostClass c, Phase phase) {
        return products.stream().filter(p -> p.costClass() == c && p.phase() == phase).toList();
    }

    /**
     * The FLOPs a step's kernel really runs: a backward step of a product that makes no input gradient (its input
     * is data) runs only the weight gradient's product, half of what the op counts for its backward pass.
     */
    public static long kernelFlops(Schedule s, Step st) {
        if (st.phase() != Phase.BACKWARD || st.node() < 0) return st.flops();
        if (!OpCostClass.of(s.graph().nodes().get(st.node())).product()) return st.flops();
        for (int t : st.writes()) if (s.tensor(t).kind() == TensorKind.ACTIVATION_GRAD) return st.flops();
        return st.flops() / 2;
    }

    /** Seconds of one step of a schedule (the first step also sets the iteration up). */
    public double stepSeconds(Schedule s, Step st) {
        Node node = st.node() >= 0 ? s.graph().nodes().get(st.node()) : null;
        return gapSeconds + (st.index() == 0 ? iterationSeconds : 0)
                + kernelSeconds(node, st.phase(), kernelFlops(s, st), st.bytesAccessed());
    }

    /** Seconds of one step of {@code node} (null: an optimizer update), the per-step cost included. */
    public double stepSeconds(Node node, Phase phase, long flops, long bytes) {
        return gapSeconds + kernelSeconds(node, phase, flops, bytes);
    }

    /** The kernel's part of a step. */
    public double kernelSeconds(Node node, Phase phase, long flops, long bytes) {
        OpCostClass c = OpCostClass.of(node);
        if (c == OpCostClass.VIEW && find(classCosts, c, null, phase) == null) return 0;
        if (c.product() && flops > 0) return flops / flopsPerSecond(c, phase, ProductDims.of(node));
        return node == null ? cost(c, null, Phase.OPTIMIZER).seconds(bytes)
                : cost(c, node.op().type(), phase).seconds(bytes);
    }

    /** The fastest forward product throughput measured (the device's nominal compute rate). */
    public double peakFlopsPerSecond() {
        return products.stream().filter(p -> p.phase() == Phase.FORWARD)
                .mapToDouble(ProductPoint::flopsPerSecond).max().orElseThrow();
    }

    /** Bandwidth of the pointwise kernels. */
    public double memoryBytesPerSecond() {
        return cost(OpCostClass.POINTWISE, null, Phase.FORWARD).bytesPerSecond();
    }

    /** The time of a step that does no work: the per-step cost and a pointwise kernel's call. */
    public double overheadSeconds() {
        return gapSeconds + cost(OpCostClass.POINTWISE, null, Phase.FORWARD).callSeconds();
    }

    private static void nonNegative(String what, double v) {
        if (!(v >= 0) || Double.isInfinite(v))
            throw new IllegalArgumentException(what + " must be a non-negative time, got " + v);
    }

    private static void positive(String what, double v) {
        if (!(v > 0) || Double.isInfinite(v))
            throw new IllegalArgumentException(what + " must be a positive finite number, got " + v);
    }
}

package memplan.sim;

import memplan.graph.Node;
import memplan.lower.StepCosts;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the simulator assumes about a device: capacity, compute throughput and memory bandwidth (per-op time is a
 * roofline of FLOPs and bytes plus a launch cost), and the host link that swaps use. A CPU calibrated on the machine
 * ({@code cpuCosts}, else null) replaces the roofline with per-op-class throughputs; measured step times, when
 * given, replace either for those steps.
 */
public record DeviceModel(String name, long capacityBytes, double flopsPerSecond, double memoryBytesPerSecond,
                          double linkBytesPerSecond, double linkLatencySeconds, double launchSeconds,
                          Map<String, Double> measuredStepSeconds, CpuCostModel cpuCosts) implements StepCosts {

    public DeviceModel {
        measuredStepSeconds = Map.copyOf(measuredStepSeconds);
    }

    public DeviceModel(String name, long capacityBytes, double flopsPerSecond, double memoryBytesPerSecond,
                       double linkBytesPerSecond, double linkLatencySeconds, double launchSeconds,
                       Map<String, Double> measuredStepSeconds) {
        this(name, capacityBytes, flopsPerSecond, memoryBytesPerSecond, linkBytesPerSecond, linkLatencySeconds,
                launchSeconds, measuredStepSeconds, null);
    }

    /**
     * The {@code cpu} device with step costs measured on this machine; the link stands for copies within host
     * memory, as the preset's does.
     */
    public static DeviceModel calibratedCpu(CpuCostModel costs) {
        DeviceModel p = preset("cpu");
        return new DeviceModel("cpu", p.capacityBytes, costs.peakFlopsPerSecond(), costs.memoryBytesPerSecond(),
                p.linkBytesPerSecond, p.linkLatencySeconds, costs.overheadSeconds(), Map.of(), costs);
    }

    public static final double GB = 1e9;
    public static final long GIB = 1L << 30;

    /** Host links by name: effective one-direction bandwidth of x16 links and of Grace-Hopper's NVLink-C2C. */
    public static final Map<String, double[]> LINKS = links();

    private static Map<String, double[]> links() {
        Map<String, double[]> m = new LinkedHashMap<>();
        m.put("pcie3", new double[]{12 * GB, 10e-6});
        m.put("pcie4", new double[]{25 * GB, 8e-6});
        m.put("pcie5", new double[]{50 * GB, 6e-6});
        m.put("nvlink-c2c", new double[]{400 * GB, 2e-6});
        return m;
    }

    /** Presets: dense fp32 throughput without tensor cores, HBM bandwidth, and the usual host link. */
    public static DeviceModel preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "h100" -> new DeviceModel("h100", 80 * GIB, 60e12, 3.0e12, 50 * GB, 6e-6, 4e-6, Map.of());
            case "h200" -> new DeviceModel("h200", 141 * GIB, 60e12, 4.4e12, 50 * GB, 6e-6, 4e-6, Map.of());
            case "a100" -> new DeviceModel("a100", 80 * GIB, 19.5e12, 1.9e12, 25 * GB, 8e-6, 5e-6, Map.of());
            case "v100" -> new DeviceModel("v100", 16 * GIB, 15.7e12, 0.9e12, 12 * GB, 10e-6, 5e-6, Map.of());
            case "a100-40" -> new DeviceModel("a100-40", 40 * GIB, 19.5e12, 1.55e12, 25 * GB, 8e-6, 5e-6, Map.of());
            // the 24 GB cards people fine-tune on (GDDR6X, PCIe 4 x16)
            case "rtx4090" -> new DeviceModel("rtx4090", 24 * GIB, 82.6e12, 1.0e12, 25 * GB, 8e-6, 5e-6, Map.of());
            case "rtx3090" -> new DeviceModel("rtx3090", 24 * GIB, 35.6e12, 0.94e12, 25 * GB, 8e-6, 5e-6, Map.of());
            // A fixed reference CPU (tests, figures that must not depend on the machine); the CLI and the app use
            // calibratedCpu, measured on the machine they run on.
            case "cpu" -> new DeviceModel("cpu", 2 * GIB, 15e9, 10 * GB, 10 * GB, 1e-6, 100e-6, Map.of());
            default -> throw new IllegalArgumentException("unknown device '" + name
                    + "' (presets: " + String.join(", ", presetNames()) + ")");
        };
    }

    public static List<String> presetNames() {
        return List.of("h100", "h200", "a100", "a100-40", "v100", "rtx4090", "rtx3090", "cpu");
    }

    public DeviceModel withLink(String link) {
        double[] l = LINKS.get(link.toLowerCase(Locale.ROOT));
        if (l == null) throw new IllegalArgumentException("unknown link '" + link + "' (known: "
                + String.join(", ", LINKS.keySet()) + ")");
        return new DeviceModel(name + "+" + link, capacityBytes, flopsPerSecond, memoryBytesPerSecond, l[0], l[1],
                launchSeconds, measuredStepSeconds, cpuCosts);
    }

    public DeviceModel withCapacity(long bytes) {
        return new DeviceModel(name, bytes, flopsPerSecond, memoryBytesPerSecond, linkBytesPerSecond,
                linkLatencySeconds, launchSeconds, measuredStepSeconds, cpuCosts);
    }

    public DeviceModel withMeasured(Map<String, Double> stepSeconds) {
        return new DeviceModel(name, capacityBytes, flopsPerSecond, memoryBytesPerSecond, linkBytesPerSecond,
                linkLatencySeconds, launchSeconds, stepSeconds, cpuCosts);
    }

    public double rooflineSeconds(long flops, long bytes) {
        return launchSeconds + Math.max(flops / flopsPerSecond, bytes / memoryBytesPerSecond);
    }

    /** Without the schedule a calibrated CPU cannot tell an op's class and uses its mid-size product roofline. */
    @Override
    public double stepSeconds(Step s) {
        Double m = measuredStepSeconds.get(s.label());
        return m != null ? m : rooflineSeconds(s.flops(), s.bytesAccessed());
    }

    @Override
    public double stepSeconds(Schedule schedule, Step s) {
        Double m = measuredStepSeconds.get(s.label());
        if (m != null) return m;
        if (cpuCosts == null) return rooflineSeconds(s.flops(), s.bytesAccessed());
        return cpuCosts.stepSeconds(schedule, s);
    }

    /** Re-running a node's forward pass. */
    public double recomputeSeconds(Node n, long bytes) {
        Double m = measuredStepSeconds.get(n.name());
        if (m != null) return m;
        return cpuCosts != null ? cpuCosts.stepSeconds(n, Phase.FORWARD, n.flops(), bytes)
                : rooflineSeconds(n.flops(), bytes);
    }

    @Override
    public double transferSeconds(long bytes) {
        return linkLatencySeconds + bytes / linkBytesPerSecond;
    }

    /** Encoding or decoding reads one form and writes the other. */
    public double codecSeconds(long bytes) {
        return launchSeconds + bytes / memoryBytesPerSecond;
    }
}

package memplan.parallel;

import java.util.List;
import java.util.Locale;

/**
 * A link between ranks as the collectives see it: per-rank bandwidth in one direction and the latency of one step
 * of a ring. Ring collectives over n ranks send (n - 1)/n of the data per rank for an all-gather or a
 * reduce-scatter and twice that for an all-reduce, in n - 1 (twice n - 1) steps.
 */
public record Network(String name, double bytesPerSecond, double latencySeconds) {

    /** Presets: NVLink 4 within an H100 node (450 GB/s a direction), InfiniBand NDR and HDR per GPU, 100 GbE. */
    public static Network preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "nvlink" -> new Network("nvlink", 450e9, 3e-6);
            case "ib-ndr" -> new Network("ib-ndr", 50e9, 5e-6);
            case "ib-hdr" -> new Network("ib-hdr", 25e9, 5e-6);
            case "ethernet" -> new Network("ethernet", 12.5e9, 20e-6);
            default -> throw new IllegalArgumentException("unknown network '" + name + "' (presets: "
                    + String.join(", ", presetNames()) + ")");
        };
    }

    public static List<String> presetNames() {
        return List.of("nvlink", "ib-ndr", "ib-hdr", "ethernet");
    }

    public double allReduceSeconds(long bytes, int n) {
        return n <= 1 ? 0 : 2.0 * (n - 1) / n * bytes / bytesPerSecond + 2.0 * (n - 1) * latencySeconds;
    }

    /** All-gather or reduce-scatter of {@code bytes} in all (each rank holds or keeps 1/n). */
    public double gatherSeconds(long bytes, int n) {
        return n <= 1 ? 0 : (double) (n - 1) / n * bytes / bytesPerSecond + (n - 1) * latencySeconds;
    }

    public double sendSeconds(long bytes) {
        return bytes / bytesPerSecond + latencySeconds;
    }
}

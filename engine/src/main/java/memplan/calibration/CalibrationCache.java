package memplan.calibration;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.io.AtomicFileWriter;
import memplan.io.ModelFormatException;
import memplan.io.StrictJson;
import memplan.io.TextFileReader;
import memplan.sim.CpuCostModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The calibration of this machine kept as one JSON file, written atomically (temporary file and rename) so a
 * crash leaves the old file or the new one. Reading checks the format, the version and every figure; the caller
 * decides what a corrupt or stale file means (it measures again).
 */
public final class CalibrationCache {
    public static final String FORMAT = "memplan-cpu-calibration";
    public static final int VERSION = 2;
    static final long MAX_BYTES = 64 << 10;
    private static final ObjectMapper MAPPER = StrictJson.mapper();
    private static final List<String> FIGURES = List.of("overheadSeconds", "optimizerOverheadSeconds",
            "memoryBytesPerSecond", "smallGemmFlops",
            "smallGemmFlopsPerSecond", "midGemmFlops", "midGemmFlopsPerSecond", "gemmBackwardShare", "convShare",
            "convBackwardShare");

    /** A cached calibration: what it was measured on, and the fitted model. */
    public record Entry(MachineKey key, CpuCostModel model, double probeSeconds) {
    }

    private CalibrationCache() {
    }

    /**
     * The default file: {@code MEMPLAN_CACHE_DIR} (or the {@code memplan.cache.dir} property), else the OS's user
     * cache folder ({@code $XDG_CACHE_HOME} or {@code ~/.cache}; {@code ~/Library/Caches}; {@code %LOCALAPPDATA%}),
     * then {@code memplan/cpu-calibration.json}.
     */
    public static Path defaultFile() {
        String own = System.getProperty("memplan.cache.dir", System.getenv("MEMPLAN_CACHE_DIR"));
        if (own != null && !own.isBlank()) return Path.of(own, "cpu-calibration.json");
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        Path home = Path.of(System.getProperty("user.home"));
        Path base;
        if (os.contains("win")) {
            String local = System.getenv("LOCALAPPDATA");
            base = local != null && !local.isBlank() ? Path.of(local) : home.resolve("AppData").resolve("Local");
        } else if (os.contains("mac")) {
            base = home.resolve("Library").resolve("Caches");
        } else {
            String xdg = System.getenv("XDG_CACHE_HOME");
            base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : home.resolve(".cache");
        }
        return base.resolve("memplan").resolve("cpu-calibration.json");
    }

    public static void write(Path file, Entry e) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        ObjectNode k = root.putObject("machine");
        k.put("cpuModel", e.key().cpuModel());
        k.put("cores", e.key().cores());
        k.put("threads", e.key().threads());
        k.put("jvm", e.key().jvm());
        k.put("memplanVersion", e.key().memplanVersion());
        k.put("kernels", e.key().kernels());
        ObjectNode m = root.putObject("model");
        CpuCostModel c = e.model();
        double[] v = {c.overheadSeconds(), c.optimizerOverheadSeconds(), c.memoryBytesPerSecond(), c.smallGemmFlops(),
                c.smallGemmFlopsPerSecond(),
                c.midGemmFlops(), c.midGemmFlopsPerSecond(), c.gemmBackwardShare(), c.convShare(),
                c.convBackwardShare()};
        for (int i = 0; i < v.length; i++) m.put(FIGURES.get(i), v[i]);
        root.put("probeSeconds", e.probeSeconds());
        try {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null) Files.createDirectories(dir);
            AtomicFileWriter.writeString(file, MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root)
                    + "\n");
        } catch (JsonProcessingException e1) {
            throw new IllegalStateException(e1);
        } catch (IOException e2) {
            throw new CalibrationException("cannot create the cache folder of " + file + ": " + e2.getMessage());
        }
    }

    /** Reads a cache file; throws ModelFormatException naming the file, the place and the reason. */
    public static Entry read(Path file) {
        String text = TextFileReader.read(file, MAX_BYTES, "cpu calibration");
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file.toString(), StrictJson.where(e), "invalid JSON: "
                    + StrictJson.reason(e, "cpu calibration"), null);
        }
        if (root == null || !root.isObject() || !FORMAT.equals(root.path("format").asText()))
            throw bad(file, "$.format", "not a cpu calibration (expected \"format\": \"" + FORMAT + "\")");
        if (root.path("version").asInt(-1) != VERSION)
            throw bad(file, "$.version", "version " + root.path("version") + ", this MemPlan reads " + VERSION);
        JsonNode k = root.path("machine");
        MachineKey key = new MachineKey(text(file, k, "cpuModel"), count(file, k, "cores"),
                count(file, k, "threads"), text(file, k, "jvm"), text(file, k, "memplanVersion"),
                text(file, k, "kernels"));
        JsonNode m = root.path("model");
        double[] v = new double[FIGURES.size()];
        for (int i = 0; i < v.length; i++) {
            JsonNode n = m.get(FIGURES.get(i));
            if (n == null || !n.isNumber())
                throw bad(file, "$.model." + FIGURES.get(i), "missing or not a number");
            v[i] = n.doubleValue();
        }
        CpuCostModel model;
        try {
            model = new CpuCostModel(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
        } catch (IllegalArgumentException e) {
            throw bad(file, "$.model", e.getMessage());
        }
        return new Entry(key, model, root.path("probeSeconds").asDouble(0));
    }

    private static String text(Path file, JsonNode k, String field) {
        JsonNode n = k.get(field);
        if (n == null || !n.isTextual()) throw bad(file, "$.machine." + field, "missing or not a string");
        return n.asText();
    }

    private static int count(Path file, JsonNode k, String field) {
        JsonNode n = k.get(field);
        if (n == null || !n.isInt() || n.asInt() <= 0)
            throw bad(file, "$.machine." + field, "missing or not a positive integer");
        return n.asInt();
    }

    private static ModelFormatException bad(Path file, String where, String why) {
        return new ModelFormatException(file.toString(), where, why, null);
    }
}

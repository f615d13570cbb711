package memplan.calibration;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.io.AtomicFileWriter;
import memplan.io.ModelFormatException;
import memplan.io.StrictJson;
import memplan.io.TextFileReader;
import memplan.sim.CpuCostModel;
import memplan.sim.OpCostClass;
import memplan.sim.ProductDims;
import memplan.train.Phase;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The calibration of this machine kept as one JSON file, written atomically (temporary file and rename) so a
 * crash leaves the old file or the new one. Reading checks the format, the version and every figure; the caller
 * decides what a corrupt or stale file means (it measures again).
 */
public final class CalibrationCache {
    public static final String FORMAT = "memplan-cpu-calibration";
    public static final int VERSION = 3;
    static final long MAX_BYTES = 256 << 10;
    private static final int MAX_ENTRIES = 1000;
    private static final ObjectMapper MAPPER = StrictJson.mapper();

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

    /**
     * Writes a cost model's figures into {@code m}: the executor's costs, one row per op class and phase, one per
     * product shape probed; {@code phaseName} spells the phase (the cache and the CLI's JSON spell it differently).
     */
    public static void putModel(ObjectNode m, CpuCostModel c, Function<Phase, String> phaseName) {
        m.put("gapSeconds", c.gapSeconds());
        m.put("iterationSeconds", c.iterationSeconds());
        ArrayNode classes = m.putArray("classes");
        for (CpuCostModel.ClassCost cc : c.classCosts()) {
            ObjectNode n = classes.addObject();
            n.put("class", cc.costClass().label());
            if (cc.opType() != null) n.put("op", cc.opType());
            n.put("phase", phaseName.apply(cc.phase()));
            n.put("callSeconds", cc.callSeconds());
            n.put("bytesPerSecond", cc.bytesPerSecond());
        }
        ArrayNode products = m.putArray("products");
        for (CpuCostModel.ProductPoint p : c.products()) {
            ObjectNode n = products.addObject();
            n.put("class", p.costClass().label());
            n.put("phase", phaseName.apply(p.phase()));
            n.put("m", p.dims().m());
            n.put("n", p.dims().n());
            n.put("k", p.dims().k());
            n.put("count", p.dims().count());
            n.put("flopsPerSecond", p.flopsPerSecond());
        }
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
        putModel(root.putObject("model"), e.model(), p -> p.name().toLowerCase(Locale.ROOT));
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
        CpuCostModel model;
        try {
            List<CpuCostModel.ClassCost> classes = new ArrayList<>();
            JsonNode cs = array(file, m, "classes");
            for (int i = 0; i < cs.size(); i++) {
                String at = "$.model.classes[" + i + "]";
                JsonNode n = cs.get(i);
                JsonNode op = n.get("op");
                if (op != null && !op.isTextual()) throw bad(file, at + ".op", "not a string");
                classes.add(new CpuCostModel.ClassCost(costClass(file, n, at), op == null ? null : op.asText(),
                        phase(file, n, at),
                        number(file, n, at, "callSeconds"), number(file, n, at, "bytesPerSecond")));
            }
            List<CpuCostModel.ProductPoint> products = new ArrayList<>();
            JsonNode ps = array(file, m, "products");
            for (int i = 0; i < ps.size(); i++) {
                String at = "$.model.products[" + i + "]";
                JsonNode n = ps.get(i);
                products.add(new CpuCostModel.ProductPoint(costClass(file, n, at), phase(file, n, at),
                        new ProductDims(number(file, n, at, "m"), number(file, n, at, "n"), number(file, n, at, "k"),
                                number(file, n, at, "count")), number(file, n, at, "flopsPerSecond")));
            }
            model = new CpuCostModel(number(file, m, "$.model", "gapSeconds"),
                    number(file, m, "$.model", "iterationSeconds"), classes, products);
        } catch (IllegalArgumentException e) {
            throw bad(file, "$.model", e.getMessage());
        }
        return new Entry(key, model, root.path("probeSeconds").asDouble(0));
    }

    private static JsonNode array(Path file, JsonNode m, String field) {
        JsonNode n = m.get(field);
        if (n == null || !n.isArray()) throw bad(file, "$.model." + field, "missing or not an array");
        if (n.size() > MAX_ENTRIES) throw bad(file, "$.model." + field, "more than " + MAX_ENTRIES + " entries");
        return n;
    }

    private static double number(Path file, JsonNode n, String at, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isNumber()) throw bad(file, at + "." + field, "missing or not a number");
        return v.doubleValue();
    }

    private static OpCostClass costClass(Path file, JsonNode n, String at) {
        OpCostClass c = OpCostClass.ofLabel(n.path("class").asText(""));
        if (c == null) throw bad(file, at + ".class", "not an op cost class (" + n.path("class") + ")");
        return c;
    }

    private static Phase phase(Path file, JsonNode n, String at) {
        for (Phase p : Phase.values()) if (p.name().toLowerCase(Locale.ROOT).equals(n.path("phase").asText("")))
            return p;
        throw bad(file, at + ".phase", "not a phase (" + n.path("phase") + ")");
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

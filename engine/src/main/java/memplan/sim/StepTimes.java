package memplan.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.io.AtomicFileWriter;
import memplan.io.ModelFormatException;
import memplan.ir.Remedy;
import memplan.io.StrictJson;
import memplan.io.TextFileReader;

import java.nio.file.Path;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Measured seconds per schedule step (by step label), as a run records them, so the simulator can predict from
 * measured op times instead of the roofline ({@link DeviceModel#withMeasured}).
 */
public final class StepTimes {
    public static final String FORMAT = "memplan-step-times";
    private static final ObjectMapper MAPPER = StrictJson.mapper();

    private StepTimes() {
    }

    /** The compute steps of a measured timeline: each step's first compute event. */
    public static Map<String, Double> fromTimeline(Timeline measured) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (TimelineEvent e : measured.events())
            if (e.kind() == EventKind.COMPUTE && e.step() >= 0) out.putIfAbsent(e.label(),
                    e.endSeconds() - e.startSeconds());
        return out;
    }

    /** Writes atomically; refuses to write over one of {@code inputs}; throws FileWriteException. */
    public static void write(Path file, String model, int batch, String device, Map<String, Double> seconds,
                             Collection<Path> inputs) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", 1);
        root.put("model", model);
        root.put("batch", batch);
        root.put("device", device);
        ObjectNode s = root.putObject("stepSeconds");
        seconds.forEach(s::put);
        try {
            AtomicFileWriter.writeString(file, MAPPER.writeValueAsString(root) + "\n", inputs);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Map<String, Double> read(Path file) {
        String text = TextFileReader.read(file, TextFileReader.MAX_STEP_TIMES_BYTES, "step-times");
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file.toString(), StrictJson.where(e), "invalid JSON: "
                    + StrictJson.reason(e, "step times"), null);
        }
        if (root == null || !FORMAT.equals(root.path("format").asText()))
            throw ModelFormatException.withRemedy(file.toString(), "$.format",
                    "not a step-times file (expected \"format\": \"" + FORMAT
                    + "\"; a real run records one)", Remedy.RECORD_STEP_TIMES, null);
        JsonNode s = root.get("stepSeconds");
        if (s == null || !s.isObject()) throw new ModelFormatException(file.toString(), "$.stepSeconds",
                "missing object of step label: seconds", null);
        Map<String, Double> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isNumber() || e.getValue().doubleValue() < 0)
                throw new ModelFormatException(file.toString(), "$.stepSeconds." + e.getKey(),
                        "must be a non-negative number of seconds, got " + e.getValue(), null);
            out.put(e.getKey(), e.getValue().doubleValue());
        }
        return out;
    }
}

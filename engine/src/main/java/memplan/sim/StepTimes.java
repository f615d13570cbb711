package memplan.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.io.ModelFormatException;
import memplan.ir.Remedy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Measured seconds per schedule step (by step label), as a run records them, so the simulator can predict from
 * measured op times instead of the roofline ({@link DeviceModel#withMeasured}).
 */
public final class StepTimes {
    public static final String FORMAT = "memplan-step-times";
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private StepTimes() {
    }

    /** The compute steps of a measured timeline: each step's first compute event. */
    public static Map<String, Double> fromTimeline(Timeline measured) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (TimelineEvent e : measured.events())
            if (e.kind() == EventKind.COMPUTE && e.step() >= 0) out.putIfAbsent(e.label(), e.endSeconds() - e.startSeconds());
        return out;
    }

    public static void write(Path file, String model, int batch, String device, Map<String, Double> seconds) throws IOException {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", 1);
        root.put("model", model);
        root.put("batch", batch);
        root.put("device", device);
        ObjectNode s = root.putObject("stepSeconds");
        seconds.forEach(s::put);
        Files.writeString(file, MAPPER.writeValueAsString(root) + "\n");
    }

    public static Map<String, Double> read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file.toString(), null, "file not found", null);
        } catch (IOException e) {
            throw new ModelFormatException(file.toString(), null, "cannot read: " + e.getMessage(), null);
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            var l = e.getLocation();
            throw new ModelFormatException(file.toString(), l == null ? null : "line " + l.getLineNr() + ", column " + l.getColumnNr(),
                    "invalid JSON: " + e.getOriginalMessage(), null);
        }
        if (root == null || !FORMAT.equals(root.path("format").asText()))
            throw ModelFormatException.withRemedy(file.toString(), "$.format", "not a step-times file (expected \"format\": \"" + FORMAT
                    + "\"; a real run records one)", Remedy.RECORD_STEP_TIMES, null);
        JsonNode s = root.get("stepSeconds");
        if (s == null || !s.isObject()) throw new ModelFormatException(file.toString(), "$.stepSeconds", "missing object of step label: seconds", null);
        Map<String, Double> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isNumber() || e.getValue().doubleValue() < 0)
                throw new ModelFormatException(file.toString(), "$.stepSeconds." + e.getKey(), "must be a non-negative number of seconds, got " + e.getValue(), null);
            out.put(e.getKey(), e.getValue().doubleValue());
        }
        return out;
    }
}

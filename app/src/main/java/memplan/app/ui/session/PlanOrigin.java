package memplan.app.ui.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.ir.DType;
import memplan.train.Optimizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The model and settings a plan file names (its "model" section), so the app can offer to open that model when the
 * plan does not fit the open one. Null fields are ones the file does not give.
 */
public record PlanOrigin(String model, int batch, DType dtype, Optimizer optimizer, Map<String, Integer> dims) {

    /** Reads a plan file's model section; null when the file has none or cannot be read. */
    public static PlanOrigin read(Path file) {
        try {
            JsonNode m = new ObjectMapper().readTree(file.toFile()).get("model");
            if (m == null || !m.isObject() || !m.hasNonNull("name")) return null;
            Map<String, Integer> dims = new TreeMap<>();
            if (m.has("dims") && m.get("dims").isObject())
                m.get("dims").fields().forEachRemaining(e -> dims.put(e.getKey(), e.getValue().asInt()));
            DType d = m.has("dtype") ? DType.parse(m.get("dtype").asText()) : null;
            Optimizer o = m.has("optimizer") ? Optimizer.parse(m.get("optimizer").asText()) : null;
            return new PlanOrigin(m.get("name").asText(), m.path("batch").asInt(-1), d, o, dims);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** "gpt2-small at batch 8 (fp32, adam, T=1024)". */
    public String describe() {
        StringBuilder b = new StringBuilder(model);
        if (batch > 0) b.append(" at batch ").append(batch);
        StringBuilder s = new StringBuilder();
        if (dtype != null) s.append(dtype.jsonName());
        if (optimizer != null) s.append(s.length() == 0 ? "" : ", ").append(optimizer.name().toLowerCase(Locale.ROOT));
        dims.forEach((k, v) -> {
            if (!k.equals("N")) s.append(s.length() == 0 ? "" : ", ").append(k).append('=').append(v);
        });
        if (s.length() > 0) b.append(" (").append(s).append(')');
        return b.toString();
    }

    /** The dimension settings for the Dimensions field ("T=1024"), without the batch N. */
    public String dimsSetting() {
        StringBuilder s = new StringBuilder();
        dims.forEach((k, v) -> {
            if (!k.equals("N")) s.append(s.length() == 0 ? "" : ",").append(k).append('=').append(v);
        });
        return s.toString();
    }
}

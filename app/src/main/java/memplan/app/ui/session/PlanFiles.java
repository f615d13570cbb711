package memplan.app.ui.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.backend.Codec;
import memplan.io.ModelFormatException;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.Schedule;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Plan files written by the app: the model they were made for and the decisions other than keep, by tensor name
 * (names are stable across runs, ids need not be). Written in the app against the public engine API while the
 * engine has no plan format of its own.
 */
public final class PlanFiles {
    public static final String FORMAT = "memplan-plan";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PlanFiles() {
    }

    public static String write(Plan p) {
        Schedule s = p.schedule();
        ObjectNode o = JSON.createObjectNode();
        o.put("format", FORMAT);
        o.put("version", 1);
        o.put("model", s.graph().model().name());
        o.put("batch", s.graph().batch());
        o.put("dtype", s.graph().floatType().jsonName());
        o.put("optimizer", s.optimizer().name().toLowerCase(Locale.ROOT));
        o.put("planner", p.planner());
        ArrayNode ds = o.putArray("decisions");
        for (int t = 0; t < p.size(); t++) {
            Decision d = p.decision(t);
            if (d instanceof Decision.Keep) continue;
            ObjectNode n = ds.addObject();
            n.put("tensor", s.tensor(t).name());
            n.put("kind", d.kind());
            if (d instanceof Decision.Swap sw) {
                n.put("outAfter", sw.outAfter());
                n.put("inBefore", sw.inBefore());
                n.put("prefetchAfter", sw.prefetchAfter());
            } else if (d instanceof Decision.Share sh) {
                n.put("with", s.tensor(sh.with()).name());
            } else if (d instanceof Decision.Compress c) {
                n.put("codec", c.codec().jsonName());
                n.put("density", c.density());
                n.put("swap", c.swap());
            }
        }
        try {
            return JSON.writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static void save(Plan p, Path file) throws IOException {
        Files.writeString(file, write(p));
    }

    public static Plan read(Path file, Schedule s) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ModelFormatException(file.toString(), null, "cannot read: " + e.getMessage(), null);
        }
        return parse(text, file.toString(), s);
    }

    /** Reads a plan for the schedule; a plan for another model or a tensor it does not have is a clear error. */
    public static Plan parse(String text, String source, Schedule s) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (IOException e) {
            throw new ModelFormatException(source, null, "invalid JSON: " + e.getMessage(), null);
        }
        if (root == null || !FORMAT.equals(root.path("format").asText()))
            throw new ModelFormatException(source, "$.format", "not a MemPlan plan (expected \"format\": \"" + FORMAT + "\")", null);
        String model = root.path("model").asText();
        if (!model.equals(s.graph().model().name()))
            throw new ModelFormatException(source, "$.model", "the plan is for model '" + model + "', but '" + s.graph().model().name() + "' is open", null);
        int batch = root.path("batch").asInt(-1);
        if (batch != s.graph().batch())
            throw new ModelFormatException(source, "$.batch", "the plan is for batch " + batch + ", but the open model is at batch " + s.graph().batch(), null);
        Map<String, Integer> ids = new HashMap<>();
        for (var t : s.tensors()) ids.put(t.name(), t.id());
        Plan p = Plan.baseline(s).withPlanner(root.path("planner").asText("imported"));
        JsonNode ds = root.path("decisions");
        for (int i = 0; i < ds.size(); i++) {
            JsonNode n = ds.get(i);
            String where = "$.decisions[" + i + "]";
            String name = n.path("tensor").asText();
            Integer id = ids.get(name);
            if (id == null) throw new ModelFormatException(source, where, "no tensor named '" + name + "' in the open model", null);
            String kind = n.path("kind").asText();
            Decision d = switch (kind) {
                case "keep" -> Decision.KEEP;
                case "swap" -> new Decision.Swap(n.path("outAfter").asInt(-1), n.path("inBefore").asInt(-1), n.path("prefetchAfter").asInt(-1));
                case "recompute" -> Decision.RECOMPUTE;
                case "share" -> {
                    Integer w = ids.get(n.path("with").asText());
                    if (w == null) throw new ModelFormatException(source, where + ".with", "no tensor named '" + n.path("with").asText() + "'", null);
                    yield new Decision.Share(w);
                }
                case "compress" -> {
                    Codec c = Codec.parse(n.path("codec").asText());
                    if (c == null) throw new ModelFormatException(source, where + ".codec", "unknown codec '" + n.path("codec").asText() + "'", null);
                    yield new Decision.Compress(c, n.path("density").asDouble(1), n.path("swap").asBoolean(false));
                }
                default -> throw new ModelFormatException(source, where + ".kind", "unknown decision '" + kind
                        + "' (keep, swap, recompute, share, compress)", null);
            };
            p = p.with(id, d);
        }
        return p;
    }
}

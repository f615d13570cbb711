package memplan.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.backend.Codec;
import memplan.io.AtomicFileWriter;
import memplan.io.FileWriteException;
import memplan.io.ModelFormatException;
import memplan.io.ModelJson;
import memplan.io.StrictJson;
import memplan.io.TextFileReader;
import memplan.train.Schedule;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Plan files (format "memplan-plan", see docs/plan-format.md): the decisions other than keep, by tensor name, with
 * every field, and a hash of the model, batch, dims, dtype and optimizer the plan was made for. Reading checks the
 * hash against the schedule it is applied to and validates the plan; every error names the file, field and reason.
 */
public final class PlanJson {
    public static final String FORMAT = "memplan-plan";
    public static final int VERSION = 1;
    private static final ObjectMapper MAPPER = StrictJson.mapper();

    private PlanJson() {
    }

    /** SHA-256 over the model file text, batch, dims, dtype and optimizer: what tensor names and sizes depend on. */
    public static String scheduleHash(Schedule s) {
        StringBuilder b = new StringBuilder(ModelJson.write(s.graph().model()));
        b.append("\nbatch=").append(s.graph().batch());
        b.append("\ndtype=").append(s.graph().floatType().jsonName());
        b.append("\noptimizer=").append(s.optimizer().name().toLowerCase(Locale.ROOT));
        new TreeMap<>(s.graph().symbols()).forEach((k, v) -> b.append("\ndim ").append(k).append('=').append(v));
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(b.toString().getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(h);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ObjectNode toJson(Plan plan) {
        Schedule s = plan.schedule();
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("planner", plan.planner());
        ObjectNode m = root.putObject("model");
        m.put("name", s.graph().model().name());
        m.put("batch", s.graph().batch());
        m.put("dtype", s.graph().floatType().jsonName());
        m.put("optimizer", s.optimizer().name().toLowerCase(Locale.ROOT));
        ObjectNode dims = m.putObject("dims");
        new TreeMap<>(s.graph().symbols()).forEach(dims::put);
        m.put("hash", scheduleHash(s));
        m.put("tensors", s.tensorCount());
        ArrayNode ds = root.putArray("decisions");
        for (int t = 0; t < s.tensorCount(); t++) {
            Decision d = plan.decision(t);
            if (d instanceof Decision.Keep) continue;
            ObjectNode o = ds.addObject();
            o.put("tensor", s.tensor(t).name());
            o.put("kind", d.kind());
            if (d instanceof Decision.Swap sw) {
                o.put("outAfter", sw.outAfter());
                o.put("inBefore", sw.inBefore());
                o.put("prefetchAfter", sw.prefetchAfter());
            } else if (d instanceof Decision.Recompute r && r.explicit()) {
                ArrayNode at = o.putArray("at");
                for (int step : r.at()) at.add(step);
            } else if (d instanceof Decision.Share sh) {
                o.put("with", s.tensor(sh.with()).name());
            } else if (d instanceof Decision.Compress c) {
                o.put("codec", c.codec().jsonName());
                o.put("density", c.density());
                o.put("swap", c.swap());
            }
        }
        return root;
    }

    public static String write(Plan plan) {
        try {
            return MAPPER.writeValueAsString(toJson(plan)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the plan atomically (the old file stays whole if the write fails). */
    public static void write(Plan plan, Path file) {
        write(plan, file, List.of());
    }

    /**
     * As {@link #write(Plan, Path)}, refusing to write over one of {@code inputs} (the files the command read).
     *
     * @throws FileWriteException naming the file and the reason
     */
    public static void write(Plan plan, Path file, Collection<Path> inputs) {
        AtomicFileWriter.writeString(file, write(plan), inputs);
    }

    public static Plan read(Path file, Schedule s) {
        String text;
        try {
            text = TextFileReader.read(file, TextFileReader.MAX_PLAN_BYTES, "plan");
        } catch (ModelFormatException e) {
            throw new PlanFormatException(file.toString(), "", "cannot read: " + e.reason());
        }
        return parse(text, file.toString(), s);
    }

    /** Parses a plan for a schedule; {@code source} names the file in errors. */
    public static Plan parse(String text, String source, Schedule s) {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            String where = StrictJson.where(e);
            throw new PlanFormatException(source, "", "not valid JSON" + (where == null ? "" : " at " + where) + ": "
                    + StrictJson.reason(e, "plan"));
        }
        if (root == null || !root.isObject()) throw new PlanFormatException(source, "",
                "a plan file must be a JSON object");
        String format = text(root, "format", source);
        if (!FORMAT.equals(format)) throw new PlanFormatException(source, "format",
                "expected \"" + FORMAT + "\", got \"" + format + "\"");
        JsonNode v = root.get("version");
        if (v == null || !v.isInt()) throw new PlanFormatException(source, "version", "missing or not an integer");
        if (v.asInt() != VERSION)
            throw new PlanFormatException(source, "version", "unsupported version " + v.asInt()
                    + " (this MemPlan reads version " + VERSION + ")");
        JsonNode m = root.get("model");
        if (m == null || !m.isObject()) throw new PlanFormatException(source, "model", "missing or not an object");
        String hash = text(m, "hash", source, "model.hash");
        String want = scheduleHash(s);
        if (!want.equals(hash)) {
            String desc = (m.has("name") ? m.get("name").asText() : "?") + ", batch " + (m.has("batch")
                    ? m.get("batch").asText() : "?")
                    + ", " + (m.has("dtype") ? m.get("dtype").asText() : "?") + ", " + (m.has("optimizer")
                            ? m.get("optimizer").asText() : "?")
                    + (m.path("dims").isObject() ? ", dims " + dims(m.get("dims")) : "");
            throw new PlanFormatException(source, "model.hash",
                    "the plan was made for another model or setting (" + desc
                    + ") and does not apply to " + s.graph().model().name() + ", batch " + s.graph().batch() + ", "
                    + s.graph().floatType().jsonName() + ", " + s.optimizer().name().toLowerCase(Locale.ROOT)
                    + ", dims " + new TreeMap<>(s.graph().symbols()) + "; make a new plan with `memplan plan`");
        }
        String planner = root.has("planner") && root.get("planner").isTextual() ? root.get("planner").asText() : "file";
        Map<String, Integer> byName = new HashMap<>();
        for (int t = 0; t < s.tensorCount(); t++) byName.put(s.tensor(t).name(), t);
        Decision[] d = new Decision[s.tensorCount()];
        JsonNode ds = root.get("decisions");
        if (ds == null || !ds.isArray()) throw new PlanFormatException(source, "decisions", "missing or not an array");
        for (int i = 0; i < ds.size(); i++) {
            String f = "decisions[" + i + "]";
            JsonNode o = ds.get(i);
            if (!o.isObject()) throw new PlanFormatException(source, f, "not an object");
            String name = text(o, "tensor", source, f + ".tensor");
            Integer t = byName.get(name);
            if (t == null) throw new PlanFormatException(source, f + ".tensor",
                    "unknown tensor '" + name + "' (not in " + s.graph().model().name() + ")");
            if (d[t] != null) throw new PlanFormatException(source, f + ".tensor",
                    "tensor '" + name + "' has two decisions");
            String kind = text(o, "kind", source, f + ".kind");
            d[t] = switch (kind) {
                case "keep" -> Decision.KEEP;
                case "recompute" -> recompute(o, source, f, s);
                case "swap" -> new Decision.Swap(step(o, "outAfter", source, f, s), step(o, "inBefore", source, f, s),
                        step(o, "prefetchAfter", source, f, s));
                case "share" -> {
                    String w = text(o, "with", source, f + ".with");
                    Integer wi = byName.get(w);
                    if (wi == null) throw new PlanFormatException(source, f + ".with", "unknown tensor '" + w + "'");
                    yield new Decision.Share(wi);
                }
                case "compress" -> {
                    String c = text(o, "codec", source, f + ".codec");
                    Codec codec = Codec.parse(c);
                    if (codec == null) throw new PlanFormatException(source, f + ".codec",
                            "unknown codec '" + c + "' (mask-1bit, sparse, fp16, bf16)");
                    JsonNode den = o.get("density");
                    if (den != null && !den.isNumber()) throw new PlanFormatException(source,
                            f + ".density", "not a number");
                    double density = den == null ? 1.0 : den.asDouble();
                    if (!(density > 0 && density <= 1)) throw new PlanFormatException(source, f + ".density",
                            "must lie in (0, 1], got " + density);
                    JsonNode sw = o.get("swap");
                    if (sw != null && !sw.isBoolean()) throw new PlanFormatException(source,
                            f + ".swap", "not true or false");
                    yield new Decision.Compress(codec, density, sw != null && sw.asBoolean());
                }
                default -> throw new PlanFormatException(source, f + ".kind",
                        "unknown decision '" + kind + "' (keep, swap, recompute, share, compress)");
            };
            for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                String fn = it.next();
                if (!allowed(kind).contains(fn)) throw new PlanFormatException(source, f + "." + fn,
                        "unknown field for a " + kind + " decision");
            }
        }
        Plan plan = new Plan(s, d, planner);
        List<PlanProblem> problems = PlanValidator.problems(plan);
        if (!problems.isEmpty()) {
            PlanProblem p = problems.get(0);
            int idx = 0;
            for (int i = 0; i < ds.size(); i++) if (p.tensorName().equals(ds.get(i).path("tensor").asText())) idx = i;
            throw new PlanFormatException(source, "decisions[" + idx + "]", "invalid decision: " + p
                    + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more problems)" : ""));
        }
        return plan;
    }

    private static String dims(JsonNode d) {
        TreeMap<String, String> m = new TreeMap<>();
        d.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return m.toString();
    }

    private static List<String> allowed(String kind) {
        return switch (kind) {
            case "swap" -> List.of("tensor", "kind", "outAfter", "inBefore", "prefetchAfter");
            case "share" -> List.of("tensor", "kind", "with");
            case "recompute" -> List.of("tensor", "kind", "at");
            case "compress" -> List.of("tensor", "kind", "codec", "density", "swap");
            default -> List.of("tensor", "kind");
        };
    }

    /** A recompute decision; {@code at} (optional) lists the steps before which the tensor is rebuilt. */
    private static Decision.Recompute recompute(JsonNode o, String source, String f, Schedule s) {
        JsonNode at = o.get("at");
        if (at == null) return Decision.RECOMPUTE;
        if (!at.isArray()) throw new PlanFormatException(source, f + ".at", "not an array of steps");
        List<Integer> steps = new ArrayList<>();
        for (int i = 0; i < at.size(); i++) {
            JsonNode n = at.get(i);
            String where = f + ".at[" + i + "]";
            if (!n.isInt()) throw new PlanFormatException(source, where, "not an integer step");
            int v = n.asInt();
            if (v < 0 || v >= s.stepCount())
                throw new PlanFormatException(source, where, "step " + v + " out of range (0.."
                        + (s.stepCount() - 1) + ")");
            int prev = steps.isEmpty() ? -1 : steps.get(steps.size() - 1);
            if (v <= prev) throw new PlanFormatException(source, where,
                    "steps must be ascending, " + v + " follows " + prev);
            steps.add(v);
        }
        return new Decision.Recompute(steps);
    }

    private static int step(JsonNode o, String name, String source, String f, Schedule s) {
        JsonNode n = o.get(name);
        if (n == null) return -1;
        if (!n.isInt()) throw new PlanFormatException(source, f + "." + name, "not an integer step");
        int v = n.asInt();
        if (v < -1 || v >= s.stepCount()) throw new PlanFormatException(source, f + "." + name,
                "step " + v + " out of range (-1 = automatic, 0.." + (s.stepCount() - 1) + ")");
        return v;
    }

    private static String text(JsonNode o, String name, String source) {
        return text(o, name, source, name);
    }

    private static String text(JsonNode o, String name, String source, String field) {
        JsonNode n = o.get(name);
        if (n == null || !n.isTextual()) throw new PlanFormatException(source, field, n == null
                ? "missing" : "not a string");
        return n.asText();
    }
}

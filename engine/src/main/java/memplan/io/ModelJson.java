package memplan.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.ir.Remedy;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.OpType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads and writes MemPlan's JSON network format (docs/model-format.md). */
public final class ModelJson {
    public static final String FORMAT = "memplan-model";
    public static final int VERSION = 1;
    private static final ObjectMapper MAPPER = StrictJson.mapper();
    private static final ObjectMapper COMPACT = new ObjectMapper();
    private static final Set<String> LAYER_KEYS = Set.of("name", "op", "inputs", "tie");

    private ModelJson() {
    }

    public static ModelDef read(Path file) {
        String text;
        try {
            text = TextFileReader.read(file, TextFileReader.MAX_MODEL_BYTES, "MemPlan JSON model");
        } catch (ModelFormatException e) {
            if (!e.reason().startsWith("not a UTF-8")) throw e;
            throw new ModelFormatException(file.toString(), null, e.reason()
                    + " (an ONNX model must have the extension .onnx)", null);
        }
        return parse(text, file.toString());
    }

    /** Parses a model; {@code source} names the text in errors. Also checks that the model instantiates at batch 1. */
    public static ModelDef parse(String text, String source) {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            String why = StrictJson.reason(e, "model");
            throw new ModelFormatException(source, StrictJson.where(e), "invalid JSON: " + why, null);
        }
        if (root == null || !root.isObject()) throw new ModelFormatException(source, "$",
                "expected a JSON object", null);
        String format = text(root, "format", FORMAT, source);
        if (!FORMAT.equals(format))
            throw new ModelFormatException(source, "$.format", "expected \"" + FORMAT
                    + "\", got \"" + format + "\"", null);
        JsonNode v = root.get("version");
        if (v != null && !v.isNull() && (!v.isIntegralNumber() || !v.canConvertToInt()))
            throw new ModelFormatException(source, "$.version", "'version' must be an integer, got " + v, null);
        int version = v == null || v.isNull() ? VERSION : v.intValue();
        if (version != VERSION)
            throw new ModelFormatException(source, "$.version", "unsupported version " + version
                    + " (this MemPlan reads version " + VERSION + ")", null);
        String name = text(root, "name", "model", source);
        String description = text(root, "description", "", source);
        Map<String, Integer> dims = new LinkedHashMap<>();
        JsonNode d = root.get("dims");
        if (d != null) {
            if (!d.isObject()) throw new ModelFormatException(source, "$.dims",
                    "'dims' must be an object of symbol: size", null);
            for (Iterator<Map.Entry<String, JsonNode>> it = d.fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().equals(ModelDef.BATCH))
                    throw ModelFormatException.withRemedy(source, "$.dims.N",
                            "N is the batch size, set when profiling; it has no default in the model",
                            Remedy.BATCH_SIZE, null);
                if (!e.getValue().isIntegralNumber() || !e.getValue().canConvertToInt() || e.getValue().intValue() <= 0)
                    throw new ModelFormatException(source, "$.dims." + e.getKey(),
                            "must be a positive integer, got " + e.getValue(), null);
                dims.put(e.getKey(), e.getValue().intValue());
            }
        }
        JsonNode ls = root.get("layers");
        if (ls == null) throw new ModelFormatException(source, "$", "missing required field 'layers'", null);
        if (!ls.isArray()) throw new ModelFormatException(source, "$.layers", "'layers' must be a list", null);
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < ls.size(); i++) {
            JsonNode l = ls.get(i);
            String path = "layers[" + i + "]";
            if (!l.isObject()) throw new ModelFormatException(source, path, "each layer must be an object", null);
            if (!l.hasNonNull("name") || !l.get("name").isTextual())
                throw new ModelFormatException(source, path, "missing required field 'name'", null);
            String lname = l.get("name").textValue();
            path = path + " (" + lname + ")";
            if (!l.hasNonNull("op") || !l.get("op").isTextual())
                throw new ModelFormatException(source, path, "missing required field 'op'", null);
            OpArgs args = new OpArgs(l, path, source);
            String opName = l.get("op").textValue();
            OpType type = OpJson.typeOf(opName);
            if (type == null)
                throw new ModelFormatException(source, path + ".op", "unknown op '" + opName + "'; known ops: "
                        + String.join(", ", Arrays.stream(OpType.values()).map(Enum::name).toList()), null);
            // Unknown fields first: a misspelt required attribute ("ouy") is then reported as what it is, not as
            // missing.
            checkUnknownFields(l, type, source, path);
            var op = OpJson.read(type, args);
            List<String> inputs = new ArrayList<>();
            JsonNode in = l.get("inputs");
            if (in != null) {
                if (!in.isArray()) throw new ModelFormatException(source, path + ".inputs",
                        "'inputs' must be a list of layer names", null);
                for (int k = 0; k < in.size(); k++) {
                    if (!in.get(k).isTextual())
                        throw new ModelFormatException(source, path + ".inputs[" + k + "]",
                                "must be a layer name, got " + in.get(k), null);
                    inputs.add(in.get(k).textValue());
                }
            }
            Map<String, String> tie = new LinkedHashMap<>();
            JsonNode t = l.get("tie");
            if (t != null) {
                if (!t.isObject()) throw new ModelFormatException(source, path + ".tie",
                        "'tie' must map a parameter to 'layer.param'", null);
                t.fields().forEachRemaining(e -> tie.put(e.getKey(), e.getValue().asText()));
            }
            layers.add(new Layer(lname, op, inputs, tie));
        }
        ModelDef model = new ModelDef(name, description, dims, layers, source);
        // reports dangling inputs, cycles and shape errors now, not at profile time
        Graph.instantiate(model, 1, DType.FP32);
        return model;
    }

    /**
     * A top-level string field, or its default when absent; any other JSON type is an error (was silently "" or the
     * default).
     */
    private static String text(JsonNode root, String field, String dflt, String source) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isTextual()) throw new ModelFormatException(source, "$." + field,
                "'" + field + "' must be a string, got " + n, null);
        return n.textValue();
    }

    /** A misspelt attribute would silently take its default; say so instead. */
    private static void checkUnknownFields(JsonNode l, OpType type, String source, String path) {
        List<String> known = OpJson.fields(type);
        for (Iterator<String> it = l.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!LAYER_KEYS.contains(f) && !known.contains(f))
                throw new ModelFormatException(source, path + "." + f, "unknown field '" + f + "' for op " + type
                        + (known.isEmpty() ? " (it takes no attributes)"
                                : " (known: " + String.join(", ", known) + ")"),
                        null);
        }
    }

    public static ObjectNode toJson(ModelDef m) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("name", m.name());
        if (m.description() != null && !m.description().isEmpty()) root.put("description", m.description());
        if (!m.dims().isEmpty()) {
            ObjectNode d = root.putObject("dims");
            m.dims().forEach(d::put);
        }
        var arr = root.putArray("layers");
        for (Layer l : m.layers()) {
            ObjectNode n = arr.addObject();
            n.put("name", l.name());
            n.put("op", l.op().type());
            if (!l.inputs().isEmpty()) {
                var ins = n.putArray("inputs");
                l.inputs().forEach(ins::add);
            }
            n.setAll(OpJson.write(l.op()));
            if (!l.tie().isEmpty()) {
                ObjectNode t = n.putObject("tie");
                l.tie().forEach(t::put);
            }
        }
        return root;
    }

    /** Stable, human-readable text: one layer per line, so diffs of the sample zoo stay small. */
    public static String write(ModelDef m) {
        ObjectNode root = toJson(m);
        StringBuilder b = new StringBuilder("{\n");
        var fields = root.fields();
        boolean first = true;
        while (fields.hasNext()) {
            var e = fields.next();
            if (!first) b.append(",\n");
            first = false;
            b.append("  ").append(quote(e.getKey())).append(": ");
            if (e.getKey().equals("layers")) {
                b.append("[\n");
                for (int i = 0; i < e.getValue().size(); i++) {
                    b.append("    ").append(compact(e.getValue().get(i))).append(i
                            + 1 < e.getValue().size() ? ",\n" : "\n");
                }
                b.append("  ]");
            } else b.append(compact(e.getValue()));
        }
        return b.append("\n}\n").toString();
    }

    private static String quote(String s) {
        try {
            return MAPPER.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String compact(JsonNode n) {
        try {
            return COMPACT.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

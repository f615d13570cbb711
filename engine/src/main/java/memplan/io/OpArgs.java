package memplan.io;

import com.fasterxml.jackson.databind.JsonNode;
import memplan.ops.Pair;
import memplan.ops.Triple;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Typed access to an op's JSON attributes, with errors that name the JSON path and field. */
public final class OpArgs {
    private final JsonNode node;
    private final String path;
    private final String source;

    public OpArgs(JsonNode node, String path, String source) {
        this.node = node;
        this.path = path;
        this.source = source;
    }

    public String path() {
        return path;
    }

    private ModelFormatException error(String field, String reason) {
        return new ModelFormatException(source, path + "." + field, reason, node.get(field) != null
                ? node.get(field) : node);
    }

    public boolean has(String field) {
        return node.hasNonNull(field);
    }

    public int requireInt(String field) {
        if (!has(field)) throw error(field, "missing required field '" + field + "'");
        return asInt(field, node.get(field));
    }

    public int optInt(String field, int dflt) {
        return has(field) ? asInt(field, node.get(field)) : dflt;
    }

    /** Longest list an attribute may hold (dimensions, axes, sizes): a bound on what a file can make us allocate. */
    public static final int MAX_LIST = 4096;

    private int asInt(String field, JsonNode v) {
        if (v.isIntegralNumber() && !v.canConvertToInt())
            throw error(field, "'" + field + "' is " + v + ", outside the integer range "
                    + Integer.MIN_VALUE + ".." + Integer.MAX_VALUE);
        if (!v.isIntegralNumber()) throw error(field, "'" + field + "' must be an integer, got " + v);
        return v.intValue();
    }

    private void checkLength(String field, JsonNode v) {
        if (v.size() > MAX_LIST)
            throw error(field, "'" + field + "' has " + v.size() + " items, more than " + MAX_LIST);
    }

    public double optDouble(String field, double dflt) {
        if (!has(field)) return dflt;
        JsonNode v = node.get(field);
        if (!v.isNumber()) throw error(field, "'" + field + "' must be a number, got " + v);
        return v.doubleValue();
    }

    public boolean optBool(String field, boolean dflt) {
        if (!has(field)) return dflt;
        JsonNode v = node.get(field);
        if (!v.isBoolean()) throw error(field, "'" + field + "' must be true or false, got " + v);
        return v.booleanValue();
    }

    public String optString(String field, String dflt) {
        if (!has(field)) return dflt;
        JsonNode v = node.get(field);
        if (!v.isTextual()) throw error(field, "'" + field + "' must be a string, got " + v);
        return v.textValue();
    }

    /** An int or a [h, w] pair. */
    public Pair optPair(String field, Pair dflt) {
        if (!has(field)) return dflt;
        JsonNode v = node.get(field);
        if (v.isIntegralNumber()) return Pair.of(asInt(field, v));
        if (v.isArray() && v.size() == 2) return new Pair(asInt(field, v.get(0)), asInt(field, v.get(1)));
        throw error(field, "'" + field + "' must be an integer or a pair [h, w], got " + v);
    }

    public Triple optTriple(String field, Triple dflt) {
        if (!has(field)) return dflt;
        JsonNode v = node.get(field);
        if (v.isIntegralNumber()) return Triple.of(asInt(field, v));
        if (v.isArray() && v.size() == 3)
            return new Triple(asInt(field, v.get(0)), asInt(field, v.get(1)), asInt(field, v.get(2)));
        throw error(field, "'" + field + "' must be an integer or a triple [d, h, w], got " + v);
    }

    public Triple requireTriple(String field) {
        if (!has(field)) throw error(field, "missing required field '" + field + "'");
        return optTriple(field, null);
    }

    public Pair requirePair(String field) {
        if (!has(field)) throw error(field, "missing required field '" + field + "'");
        return optPair(field, null);
    }

    public List<Integer> requireIntList(String field) {
        if (!has(field)) throw error(field, "missing required field '" + field + "'");
        JsonNode v = node.get(field);
        if (!v.isArray()) throw error(field, "'" + field + "' must be a list of integers, got " + v);
        checkLength(field, v);
        List<Integer> out = new ArrayList<>();
        for (Iterator<JsonNode> it = v.elements(); it.hasNext(); ) out.add(asInt(field, it.next()));
        return out;
    }

    public List<Double> requireDoubleList(String field) {
        if (!has(field)) throw error(field, "missing required field '" + field + "'");
        JsonNode v = node.get(field);
        if (!v.isArray()) throw error(field, "'" + field + "' must be a list of numbers, got " + v);
        checkLength(field, v);
        List<Double> out = new ArrayList<>();
        for (JsonNode d : v) {
            if (!d.isNumber()) throw error(field, "'" + field + "' must be a list of numbers, got " + v);
            out.add(d.doubleValue());
        }
        return out;
    }

    /** A list whose items are integers or symbol names (e.g. ["N", 3, 224, 224]). */
    public List<String> requireDimList(String field) {
        if (!has(field)) throw error(field, "missing required field '" + field + "'");
        JsonNode v = node.get(field);
        if (!v.isArray()) throw error(field, "'" + field + "' must be a list of dimensions, got " + v);
        checkLength(field, v);
        List<String> out = new ArrayList<>();
        for (JsonNode d : v) {
            if (d.isIntegralNumber() && !d.canConvertToInt())
                throw error(field, "dimension " + d + " is larger than " + Integer.MAX_VALUE
                        + ", the largest MemPlan models");
            if (d.isIntegralNumber() && d.intValue() >= 0) out.add(Integer.toString(d.intValue()));
            else if (d.isTextual() && d.textValue().matches("[A-Za-z_][A-Za-z0-9_]*")) out.add(d.textValue());
            else throw error(field, "each dimension must be a non-negative integer or a symbol such as \"N\", got "
                    + d);
        }
        return out;
    }

    public ModelFormatException invalid(String field, String reason) {
        return error(field, reason);
    }
}

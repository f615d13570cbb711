package memplan.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The JSON reading every MemPlan file shares: text after the document and a field given twice are errors (Jackson
 * would otherwise ignore the text, or let the last field silently win), and errors say where, by line, column and
 * JSON path.
 */
public final class StrictJson {
    private StrictJson() {
    }

    /** A mapper that reads strictly and writes indented JSON. */
    public static ObjectMapper mapper() {
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    }

    /** "line 3, column 7 ($.decisions)", or null when Jackson knows neither. */
    public static String where(JsonProcessingException e) {
        JsonLocation l = e.getLocation();
        String at = l == null ? null : "line " + l.getLineNr() + ", column " + l.getColumnNr();
        String path = path(e);
        if (path == null) return at;
        return at == null ? path : at + " (" + path + ")";
    }

    /** The reason in words, without Jackson's source excerpt; {@code kind} names the document ("model"). */
    public static String reason(JsonProcessingException e, String kind) {
        String m = e.getOriginalMessage();
        if (m == null) return "invalid JSON";
        if (m.startsWith("Trailing token")) return "text after the end of the " + kind;
        if (m.startsWith("Unexpected end-of-input")) return "the " + kind + " ends before its JSON is complete";
        if (m.startsWith("Duplicate field"))
            return "field " + m.substring("Duplicate field ".length()) + " is given twice";
        return m;
    }

    private static String path(JsonProcessingException e) {
        if (!(e.getProcessor() instanceof JsonParser p)) return null;
        JsonStreamContext c = p.getParsingContext();
        if (c == null || c.inRoot()) return null;
        StringBuilder b = new StringBuilder();
        for (; c != null && !c.inRoot(); c = c.getParent()) {
            if (c.inArray()) b.insert(0, "[" + Math.max(0, c.getCurrentIndex()) + "]");
            else if (c.getCurrentName() != null) b.insert(0, "." + c.getCurrentName());
        }
        return b.length() == 0 ? null : "$" + b;
    }
}

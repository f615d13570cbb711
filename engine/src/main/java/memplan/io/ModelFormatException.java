package memplan.io;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A problem in a model or plan file: which file, where (JSON path or line/column), and why.
 * {@link #getMessage()} is written for the person who wrote the file.
 */
public class ModelFormatException extends RuntimeException {
    private final String source;
    private final String location;
    private final String reason;

    public ModelFormatException(String source, String location, String reason, JsonNode near) {
        super(format(source, location, reason));
        this.source = source;
        this.location = location;
        this.reason = reason;
    }

    private static String format(String source, String location, String reason) {
        StringBuilder b = new StringBuilder();
        b.append(source == null ? "<model>" : source);
        if (location != null && !location.isEmpty()) b.append(": at ").append(location);
        return b.append(": ").append(reason).toString();
    }

    public String source() {
        return source;
    }

    public String location() {
        return location;
    }

    public String reason() {
        return reason;
    }
}

package memplan.ir;

/**
 * A problem in a model, said for the person who wrote it: which model or file ({@link #source}), where in it
 * ({@link #location}: a layer, a JSON path, a line and column), and why ({@link #reason}). Each layer of the engine
 * has its own subclass (the file formats' {@code io.ModelFormatException}, the graph's {@code GraphException});
 * callers that only report the problem catch this one.
 */
public abstract class ModelException extends RuntimeException implements Remediable {
    private final String source;
    private final String location;
    private final String reason;
    private final Remedy remedy;
    private final String remedyDetail;

    protected ModelException(String source, String location, String reason) {
        this(source, location, reason, null, null);
    }

    protected ModelException(String source, String location, String reason, Remedy remedy, String remedyDetail) {
        super(format(source, location, reason));
        this.source = source;
        this.location = location;
        this.reason = reason;
        this.remedy = remedy;
        this.remedyDetail = remedyDetail;
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

    @Override
    public Remedy remedy() {
        return remedy;
    }

    @Override
    public String remedyDetail() {
        return remedyDetail;
    }
}

package memplan.plan;

/** A plan file that cannot be read or does not fit the model: names the file, the field and the reason. */
public class PlanFormatException extends IllegalArgumentException {
    private final String file;
    private final String field;

    public PlanFormatException(String file, String field, String reason) {
        super(file + ": " + (field == null || field.isEmpty() ? "" : field + ": ") + reason);
        this.file = file;
        this.field = field;
    }

    public String file() { return file; }
    public String field() { return field; }
}

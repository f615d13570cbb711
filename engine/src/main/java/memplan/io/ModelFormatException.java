package memplan.io;

import com.fasterxml.jackson.databind.JsonNode;
import memplan.ir.ModelException;

/**
 * A problem in a model or plan file: which file, where (JSON path or line/column), and why.
 * {@link #getMessage()} is written for the person who wrote the file.
 */
public class ModelFormatException extends ModelException {
    public ModelFormatException(String source, String location, String reason, JsonNode near) {
        super(source, location, reason);
    }
}

package memplan.io;

import com.fasterxml.jackson.databind.JsonNode;
import memplan.ir.ModelException;
import memplan.ir.Remedy;

/**
 * A problem in a model or plan file: which file, where (JSON path or line/column), and why.
 * {@link #getMessage()} is written for the person who wrote the file.
 */
public class ModelFormatException extends ModelException {
    public ModelFormatException(String source, String location, String reason, JsonNode near) {
        super(source, location, reason);
    }

    private ModelFormatException(String source, String location, String reason, Remedy remedy, String detail) {
        super(source, location, reason, remedy, detail);
    }

    /** A problem the user can get past with {@code remedy}; {@code detail} is its value, e.g. "x=1x3x32x32". */
    public static ModelFormatException withRemedy(String source, String location, String reason, Remedy remedy,
                                                  String detail) {
        return new ModelFormatException(source, location, reason, remedy, detail);
    }
}

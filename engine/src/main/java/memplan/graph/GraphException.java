package memplan.graph;

import memplan.io.ModelFormatException;

/** A structural problem in a model: dangling input, cycle, wrong arity, shapes that do not fit. */
public class GraphException extends ModelFormatException {
    public GraphException(String source, String location, String reason) {
        super(source, location, reason, null);
    }
}

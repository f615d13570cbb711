package memplan.graph;

import memplan.ir.ModelException;

/** A structural problem in a model: dangling input, cycle, wrong arity, shapes that do not fit. */
public class GraphException extends ModelException {
    public GraphException(String source, String location, String reason) {
        super(source, location, reason);
    }
}

package memplan.ir;

/** Thrown by shape inference when an op's inputs do not fit it; the message says why. */
public class ShapeException extends RuntimeException {
    public ShapeException(String message) {
        super(message);
    }
}

package memplan.onnx;

/** An operator, or a use of one, that MemPlan does not model; counted and reported together, or made opaque. */
final class Unsupported extends RuntimeException {
    final String label;

    Unsupported(String label, String detail) {
        super(detail);
        this.label = label;
    }
}

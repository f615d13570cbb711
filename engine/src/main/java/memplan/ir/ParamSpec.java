package memplan.ir;

/**
 * A parameter an op owns, e.g. a convolution's "weight". Buffers such as BatchNorm running statistics
 * are not trainable: they take memory but get no gradient or optimizer state and are not counted as parameters.
 */
public record ParamSpec(String name, Shape shape, boolean trainable) {
    public static ParamSpec trainable(String name, int... dims) {
        return new ParamSpec(name, Shape.of(dims), true);
    }

    public static ParamSpec buffer(String name, int... dims) {
        return new ParamSpec(name, Shape.of(dims), false);
    }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * x (fn) c where c is a constant the op owns, broadcast against x: a bias added after a MatMul, a layer scale,
 * a positional-embedding table, x / sqrt(d), x ^ 2. {@code reversed} computes c (fn) x instead.
 * <ul>
 * <li>An empty {@code shape} is a scalar: a hyperparameter kept as {@code value}, owning no memory.</li>
 * <li>Otherwise c is a parameter named "const" of that shape: trainable (it was a learned weight in the framework
 * that exported it) or a buffer (a fixed table such as a mask) when {@code trainable} is false.</li>
 * </ul>
 * fn is one of add, sub, mul, div, pow, mod (the remainder with the divisor's sign, PyTorch's remainder and ONNX
 * Mod with fmod = 0) and fmod (the dividend's sign, ONNX Mod with fmod = 1). Backward reads what the derivative of
 * fn needs: x mod c passes the gradient to x unchanged (PyTorch's remainder and fmod by a constant save nothing).
 */
public record ConstElementwise(String fn, List<Integer> shape, double value, boolean reversed,
        boolean trainable) implements UnaryOp {
    public static final List<String> FUNCTIONS = List.of("add", "sub", "mul", "div", "pow", "mod", "fmod");

    public ConstElementwise {
        shape = List.copyOf(shape);
        if (!FUNCTIONS.contains(fn)) throw new IllegalArgumentException("unknown function " + fn
                + " (use " + FUNCTIONS + ")");
    }

    /** A scalar operand, e.g. x * 0.5. */
    public static ConstElementwise scalar(String fn, double value, boolean reversed) {
        return new ConstElementwise(fn, List.of(), value, reversed, false);
    }

    private boolean isScalar() {
        return shape.isEmpty();
    }

    private Shape constShape() {
        return new Shape(shape.stream().mapToInt(Integer::intValue).toArray());
    }

    @Override public String type() { return "ConstElementwise"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        for (int d : shape) if (d <= 0) throw new ShapeException("ConstElementwise: constant shape "
                + shape + " must be positive");
        return List.of(Broadcast.shape("ConstElementwise", in.get(0), constShape()));
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        return isScalar() ? List.of() : List.of(new ParamSpec("const", constShape(), trainable));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return (fn.equals("pow") ? 8
            : 1) * out.get(0).numel(); }

    @Override
    public BackwardNeeds backwardNeeds() {
        boolean learn = trainable && !isScalar();
        BackwardNeeds n = switch (fn) {
            case "add", "sub" -> BackwardNeeds.NOTHING;
            // x mod c: dx = g; dc = -g floor(x / c) (trunc for fmod) needs x; c mod x: dx = -g floor(c / x).
            case "mod", "fmod" -> learn || reversed ? BackwardNeeds.inputs(0) : BackwardNeeds.NOTHING;
            // d(xc)/dx = c; dc needs x.
            case "mul" -> learn ? BackwardNeeds.inputs(0) : BackwardNeeds.NOTHING;
            // x / c: dx = g / c, dc needs x; c / x: dx = -g c / x^2 needs x.
            case "div" -> learn || reversed ? BackwardNeeds.inputs(0) : BackwardNeeds.NOTHING;
            // x ^ c: dx = g c x^(c-1) needs x; c ^ x: dx = g ln(c) c^x needs the output.
            default -> reversed ? BackwardNeeds.outputs(0) : BackwardNeeds.inputs(0);
        };
        boolean cUnread = fn.equals("add") || fn.equals("sub")
                || (fn.equals("mod") || fn.equals("fmod")) && !learn && !reversed;
        return isScalar() || cUnread ? n : n.withParams();
    }
}

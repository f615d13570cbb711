package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.List;
import java.util.Locale;

/**
 * A comparison or logical op on computed tensors (ONNX Equal, Less, Greater, And, Or, Xor, Not): a bool tensor,
 * one byte per element. Two operands broadcast; {@code value} non-null compares input 0 against that scalar
 * instead of a second input; Not takes one input. Any input dtype (numbers compare as values, logic reads nonzero
 * as true). A non-empty {@code constShape} compares input 0 against a constant tensor of that shape instead (ONNX's
 * Less(x, table)): a buffer "const" the op owns, broadcast against x. No gradient flows through it, so its backward
 * needs nothing.
 */
public record Compare(Relation relation, Double value, List<Integer> constShape) implements BinaryOp {
    /** The closed set of relations, named as in model files ("less"). */
    public enum Relation {
        EQUAL, LESS, GREATER, AND, OR, XOR, NOT;

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The relation of a JSON name, or null. */
        public static Relation of(String name) {
            for (Relation r : values()) if (r.jsonName().equals(name)) return r;
            return null;
        }

        /** Whether the relation holds for a and b (b ignored by NOT). */
        public boolean holds(double a, double b) {
            return switch (this) {
                case EQUAL -> a == b;
                case LESS -> a < b;
                case GREATER -> a > b;
                case AND -> a != 0 && b != 0;
                case OR -> a != 0 || b != 0;
                case XOR -> (a != 0) != (b != 0);
                case NOT -> a == 0;
            };
        }
    }

    public Compare {
        constShape = List.copyOf(constShape);
        if (relation == Relation.NOT && (value != null || !constShape.isEmpty()))
            throw new IllegalArgumentException("Compare 'not' takes no value");
        if (value != null && !constShape.isEmpty())
            throw new IllegalArgumentException("Compare takes a value or a constant tensor, not both");
    }

    /** Two inputs, or input 0 against a scalar value (null: no scalar). */
    public Compare(Relation relation, Double value) {
        this(relation, value, List.of());
    }

    private Shape constant() {
        return new Shape(constShape.stream().mapToInt(Integer::intValue).toArray());
    }

    @Override public String type() { return "Compare"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return relation == Relation.NOT || value != null || !constShape.isEmpty() ? 1 : 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        if (!constShape.isEmpty()) return List.of(Broadcast.shape("Compare", in.get(0), constant()));
        return List.of(arity() == 1 ? in.get(0) : Broadcast.shape("Compare", in));
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        return constShape.isEmpty() ? List.of() : List.of(new ParamSpec("const", constant(), false));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public DType outputDType(int output) { return DType.BOOL; }
    @Override public boolean differentiable(int input) { return false; }
}

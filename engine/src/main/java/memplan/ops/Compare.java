package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;

import java.util.List;
import java.util.Locale;

/**
 * A comparison or logical op on computed tensors (ONNX Equal, Less, Greater, And, Or, Xor, Not): a bool tensor,
 * one byte per element. Two operands broadcast; {@code value} non-null compares input 0 against that scalar
 * instead of a second input; Not takes one input. Any input dtype (numbers compare as values, logic reads nonzero
 * as true). No gradient flows through it, so its backward needs nothing.
 */
public record Compare(Relation relation, Double value) implements BinaryOp {
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
        if (relation == Relation.NOT && value != null)
            throw new IllegalArgumentException("Compare 'not' takes no value");
    }

    @Override public String type() { return "Compare"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return relation == Relation.NOT || value != null ? 1 : 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        return List.of(arity() == 1 ? in.get(0) : Broadcast.shape("Compare", in));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public DType outputDType(int output) { return DType.BOOL; }
    @Override public boolean differentiable(int input) { return false; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;
import java.util.Map;

/**
 * A data input. Dimensions are integers or symbols: "N" is the batch, set at profile time; other symbols
 * (e.g. "T" for a sequence length) take the model's default or a value given by the user.
 * dtype null means the model's floating type; integer inputs (token ids, labels) say "int64".
 */
public record Input(List<String> dims, DType dtype) implements SourceOp {
    public Input {
        dims = List.copyOf(dims);
    }

    /** The concrete shape once the symbols are bound. */
    @Override
    public Shape resolve(Map<String, Integer> symbols) {
        int[] out = new int[dims.size()];
        for (int i = 0; i < out.length; i++) {
            String d = dims.get(i);
            if (Character.isDigit(d.charAt(0))) out[i] = dimension(d);
            else {
                Integer v = symbols.get(d);
                if (v == null) throw new ShapeException("Input: no value for dimension symbol '" + d + "'");
                out[i] = v;
            }
        }
        return new Shape(out);
    }

    private static int dimension(String d) {
        try {
            return Integer.parseInt(d);
        } catch (NumberFormatException e) {
            throw new ShapeException("Input: dimension " + d + " is not an integer up to " + Integer.MAX_VALUE);
        }
    }

    @Override public String type() { return "Input"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 0; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        throw new ShapeException("Input shapes are resolved from symbols, not inferred");
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public DType outputDType(int output) { return dtype; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;

import java.util.List;
import java.util.Map;

/**
 * A tensor of one value whose shape may follow the batch: an imported constant sized by the batch (ONNX
 * ConstantOfShape of a shape computed from the input, a recurrent net's zero initial state). Dimensions are those of
 * {@link Input} (integers or symbols, "N" the batch). A graph source with no gradient: it owns no parameter, and its
 * output is an activation the forward pass writes.
 */
public record Fill(List<String> dims, double value, DType dtype) implements SourceOp {
    public Fill {
        dims = List.copyOf(dims);
        if (!Double.isFinite(value)) throw new IllegalArgumentException("Fill: value must be finite, got " + value);
    }

    @Override
    public Shape resolve(Map<String, Integer> symbols) {
        return new Input(dims, dtype).resolve(symbols);
    }

    @Override public String type() { return "Fill"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 0; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        return List.of(resolve(Map.of()));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
    @Override public DType outputDType(int output) { return dtype; }
    @Override public boolean differentiable(int input) { return false; }
}

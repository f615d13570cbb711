package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.List;

/**
 * Replaces elements by a constant where a boolean mask says so (ONNX Where with one tensor operand, PyTorch's
 * masked_fill): attention masks. The mask broadcasts against x. With {@code maskShape} empty the mask is input 1
 * (computed, e.g. from an attention_mask input; not differentiable); otherwise it is a fixed buffer "mask" of that
 * shape the op owns (a causal mask table; kept in the model's float type). {@code keepWhereTrue}: x survives where
 * the mask is true (Where(mask, x, value)) rather than where it is false. Backward zeroes the gradient where
 * filled, so it reads the mask.
 */
public record MaskedFill(List<Integer> maskShape, double value, boolean keepWhereTrue) implements BinaryOp {
    public MaskedFill {
        maskShape = List.copyOf(maskShape);
    }

    private boolean maskIsInput() {
        return maskShape.isEmpty();
    }

    private Shape mask(List<Shape> in) {
        return maskIsInput() ? in.get(1) : new Shape(maskShape.stream().mapToInt(Integer::intValue).toArray());
    }

    @Override public String type() { return "MaskedFill"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return maskIsInput() ? 2 : 1; }
    @Override public List<Shape> inferShapes(List<Shape> in) { return List.of(Broadcast.shape("MaskedFill", in.get(0),
            mask(in))); }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        return maskIsInput() ? List.of() : List.of(new ParamSpec("mask", mask(in), false));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return maskIsInput() ? BackwardNeeds.inputs(1)
            : BackwardNeeds.NOTHING.withParams(); }
    @Override public boolean differentiable(int input) { return input == 0; }
}

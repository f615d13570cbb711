package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * Rotary position embedding over x [N, T, heads * headDim], each head rotated on its own: in the rotate-half
 * convention of Llama and Hugging Face, element i < headDim/2 of a head pairs with element i + headDim/2 and both
 * turn by the angle t * theta^(-2i / headDim) at position t (0 .. T-1). Written in PyTorch as
 * {@code x * cos + rotate_half(x) * sin} with cos and sin tables that need no gradient, autograd keeps only the
 * tables (buffers), no activation: the op keeps nothing. While it runs x * cos, rotate_half(x) * sin and their sum
 * are live at once: two tensors besides the output.
 */
public record RotaryEmbedding(int headDim, double theta) implements SequenceOp {
    @Override public String type() { return "RotaryEmbedding"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("RotaryEmbedding", in, 0, 3);
        Checks.positive("RotaryEmbedding", "headDim", headDim);
        if (headDim % 2 != 0) throw new ShapeException("RotaryEmbedding: headDim " + headDim + " must be even");
        if (!(theta > 0)) throw new ShapeException("RotaryEmbedding: theta must be positive, got " + theta);
        if (in.get(0).dim(2) % headDim != 0)
            throw new ShapeException("RotaryEmbedding: width " + in.get(0).dim(2) + " is not a multiple of headDim "
                    + headDim);
        return List.of(in.get(0));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 3 * in.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 3 * in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }

    @Override
    public long workspaceElements(List<Shape> in, List<Shape> out) {
        return 2 * in.get(0).numel();
    }

    /** The backward's two products (grad * cos and rotate_half(grad * sin)) before their sum. */
    @Override
    public long backwardWorkspaceElements(List<Shape> in, List<Shape> out) {
        return 2 * in.get(0).numel();
    }

    /** The rotation angle of pair i (0 <= i < headDim/2) at position t, in double as the kernels use it. */
    public double angle(int t, int i) {
        return t * Math.pow(theta, -2.0 * i / headDim);
    }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * The k largest (or smallest) elements along one axis (ONNX TopK, torch.topk): output 0 the values (the model's
 * float type), output 1 their int64 indices along the axis. Ties go to the lower index; {@code sorted} false may
 * keep any order, MemPlan sorts anyway. Backward scatters the values' gradient to the indices, which PyTorch saves
 * (the indices output); the indices get no gradient.
 */
public record TopK(int axis, int k, boolean largest, boolean sorted) implements ReduceOp {
    public TopK {
        if (k < 1) throw new IllegalArgumentException("TopK: k must be at least 1, got " + k);
    }

    @Override public String type() { return "TopK"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }
    @Override public int outputCount() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        int ax = Checks.axis("TopK", axis, x.rank());
        if (k > x.dim(ax)) throw new ShapeException("TopK: k = " + k + " is larger than axis " + axis + " ("
                + x.dim(ax) + " elements)");
        Shape y = x.withDim(ax, k);
        return List.of(y, y);
    }

    /** One comparison per element and kept slot (a selection, not a full sort). */
    @Override public long flops(List<Shape> in, List<Shape> out) { return in.get(0).numel() * k; }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.outputs(1); }
    @Override public DType outputDType(int output) { return output == 1 ? DType.INT64 : null; }
}

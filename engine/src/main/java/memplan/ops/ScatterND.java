package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.Arrays;
import java.util.List;

/**
 * ONNX ScatterND on computed tensors: a copy of data (input 0) with the slices that the index tuples of indices
 * (input 1, int64 [..., k]) name replaced by (or, {@code add}, increased by) the slices of updates (input 2, of shape
 * indices.shape[:-1] + data.shape[k:]). Tuples are applied in order. Backward reads the indices: data's gradient is
 * the output's with the replaced slices zeroed (none) or unchanged (add); updates' gradient is the output's gathered
 * at the tuples (for none, only the last write of a repeated tuple reaches the output; MemPlan gathers every one).
 */
public record ScatterND(boolean add) implements MovementOp {
    @Override public String type() { return "ScatterND"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 3; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape data = in.get(0), idx = in.get(1), upd = in.get(2);
        if (idx.rank() < 1) throw new ShapeException("ScatterND: indices must have rank 1 or more, got " + idx);
        int k = idx.dim(-1);
        if (k < 1 || k > data.rank())
            throw new ShapeException("ScatterND: index tuples of " + k + " values do not fit data " + data);
        int[] want = new int[idx.rank() - 1 + data.rank() - k];
        for (int i = 0; i < idx.rank() - 1; i++) want[i] = idx.dim(i);
        for (int i = k; i < data.rank(); i++) want[idx.rank() - 1 + i - k] = data.dim(i);
        if (!Arrays.equals(want, upd.dims()))
            throw new ShapeException("ScatterND: updates " + upd + " must be " + Shape.of(want) + " for data "
                    + data + " and indices " + idx);
        return List.of(data);
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return in.get(2).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(1); }
    @Override public boolean differentiable(int input) { return input != 1; }
    @Override public boolean integerInput(int input) { return input == 1; }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;

import java.util.List;

/** Mean over H and W: [N, C, H, W] -> [N, C, 1, 1]. Backward needs only the input's shape. */
public record GlobalAvgPool() implements PoolOp {
    @Override public String type() { return "GlobalAvgPool"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.rank("GlobalAvgPool", in, 0, 4);
        Shape x = in.get(0);
        return List.of(Shape.of(x.dim(0), x.dim(1), 1, 1));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

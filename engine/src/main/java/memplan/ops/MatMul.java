package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * Batched matrix product [..., M, K] x [..., K, N] -> [..., M, N]; the leading (batch) dimensions must match.
 * transposeB multiplies by the transpose of the second operand ([..., N, K]), as attention's Q K^T does.
 */
public record MatMul(boolean transposeB) implements GemmOp {
    @Override public String type() { return "MatMul"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Checks.minRank("MatMul", in, 0, 2);
        Checks.minRank("MatMul", in, 1, 2);
        Shape a = in.get(0), b = in.get(1);
        if (a.rank() != b.rank()) throw new ShapeException("MatMul: operands must have the same rank, got " + a
                + " and " + b);
        for (int i = 0; i < a.rank() - 2; i++)
            if (a.dim(i) != b.dim(i)) throw new ShapeException("MatMul: batch dimensions differ: " + a + " and " + b);
        int k = a.dim(-1);
        int kb = transposeB ? b.dim(-1) : b.dim(-2);
        if (k != kb) throw new ShapeException("MatMul: inner dimensions differ: " + a + " and " + b + (transposeB
                ? " (transposed)" : ""));
        return List.of(a.withDim(-1, transposeB ? b.dim(-2) : b.dim(-1)));
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        return 2L * out.get(0).numel() * in.get(0).dim(-1);
    }

    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 2 * flops(in, out); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0, 1); }
}

package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;

/**
 * Permutes dimensions. Unlike Reshape it is materialised (a contiguous copy), as the kernels that follow it need
 * contiguous memory; that is what PyTorch's transpose(...).contiguous() costs.
 */
public record Transpose(List<Integer> perm) implements MovementOp {
    public Transpose {
        perm = List.copyOf(perm);
    }

    @Override public String type() { return "Transpose"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 1; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape x = in.get(0);
        if (perm.size() != x.rank()) throw new ShapeException("Transpose: perm " + perm
                + " does not match rank of " + x);
        boolean[] seen = new boolean[perm.size()];
        int[] d = new int[perm.size()];
        for (int i = 0; i < d.length; i++) {
            int p = perm.get(i);
            if (p < 0 || p >= d.length || seen[p]) throw new ShapeException("Transpose: " + perm
                    + " is not a permutation");
            seen[p] = true;
            d[i] = x.dim(p);
        }
        return List.of(new Shape(d));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 0; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.NOTHING; }
}

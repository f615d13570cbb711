package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;
import java.util.Set;

/**
 * Fused scaled dot-product attention over q, k, v of shape [N, T, D], split into heads of D/heads each,
 * optionally causal. Like PyTorch's fused kernels it saves q, k, v, the output and a log-sum-exp per row (fp32),
 * not the T x T probabilities; a model that wants the unfused form writes MatMul/Softmax/MatMul itself.
 */
public record Attention(int heads, boolean causal) implements AttentionOp {
    @Override public String type() { return "Attention"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 3; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        for (int i = 0; i < 3; i++) Checks.rank("Attention", in, i, 3);
        Checks.positive("Attention", "heads", heads);
        Shape q = in.get(0), k = in.get(1), v = in.get(2);
        if (!k.equals(v)) throw new ShapeException("Attention: key and value must have the same shape, got " + k
                + " and " + v);
        if (q.dim(0) != k.dim(0) || q.dim(2) != k.dim(2))
            throw new ShapeException("Attention: query " + q + " and key " + k + " differ in batch or width");
        if (q.dim(2) % heads != 0) throw new ShapeException("Attention: width " + q.dim(2)
                + " is not divisible by " + heads + " heads");
        return List.of(q);
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        Shape q = in.get(0);
        long tq = q.dim(1), tk = in.get(1).dim(1);
        return 4L * q.dim(0) * tq * tk * q.dim(2) + 5L * q.dim(0) * heads * tq * tk;
    }

    /** Backward recomputes the probabilities and multiplies twice more. */
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 2 * flops(in,
            out) + flops(in, out) / 2; }

    @Override public BackwardNeeds backwardNeeds() { return new BackwardNeeds(Set.of(0, 1, 2),
            Set.of(0), false, true); }

    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        Shape q = in.get(0);
        return List.of(new AuxSpec("lse", Shape.of(q.dim(0), heads, q.dim(1)), DType.FP32));
    }

    /** The score tile of one (batch, head) pair while it runs: T_q x T_k. */
    @Override
    public long workspaceElements(List<Shape> in, List<Shape> out) {
        return (long) in.get(0).dim(1) * in.get(1).dim(1);
    }

    @Override
    public long backwardWorkspaceElements(List<Shape> in, List<Shape> out) {
        return 2 * workspaceElements(in, out);
    }
}

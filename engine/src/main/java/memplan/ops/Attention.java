package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Scaled dot-product attention over q [N, Tq, heads * dh] and k, v [N, Tk, kvHeads * dh], optionally causal;
 * kvHeads below heads is grouped-query attention (each group of heads / kvHeads query heads shares one key and
 * value head; kvHeads 1 is multi-query attention). Two forms keep different tensors for backward:
 * <ul>
 *   <li>{@link Form#FUSED}, as PyTorch's fused kernels (flash, memory-efficient): q, k, v, the output and a
 *       log-sum-exp per row (fp32), no T x T tensor; backward recomputes the probabilities;</li>
 *   <li>{@link Form#EAGER}, as PyTorch's unfused softmax(QK^T / sqrt(dh)) V written with matmul and softmax (Hugging
 *       Face's eager attention): the probabilities [N, heads, Tq, Tk] and the operands of both matmuls, q and,
 *       for grouped queries, the key and value repeated to every head (repeat_kv copies them); for as many key
 *       heads as query heads, k and v themselves. The scores, their scaled and masked forms live while it runs.</li>
 * </ul>
 */
public record Attention(int heads, int kvHeads, boolean causal, Form form) implements AttentionOp {
    /** Which tensors attention keeps for backward: see the record's description. */
    public enum Form {
        FUSED, EAGER;

        /** The name in model files ("fused", "eager"). */
        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The form of a model file's name, or null. */
        public static Form of(String name) {
            for (Form f : values()) if (f.jsonName().equals(name)) return f;
            return null;
        }
    }

    /** Fused multi-head attention (as many key and value heads as query heads). */
    public Attention(int heads, boolean causal) {
        this(heads, heads, causal, Form.FUSED);
    }

    public Attention {
        if (form == null) throw new IllegalArgumentException("Attention: form is null");
    }

    @Override public String type() { return "Attention"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 3; }

    /** The same attention in another form. */
    public Attention withForm(Form f) {
        return new Attention(heads, kvHeads, causal, f);
    }

    /** Whether keys and values have fewer heads than queries. */
    public boolean grouped() {
        return kvHeads != heads;
    }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        for (int i = 0; i < 3; i++) Checks.rank("Attention", in, i, 3);
        Checks.positive("Attention", "heads", heads);
        Checks.positive("Attention", "kvHeads", kvHeads);
        Shape q = in.get(0), k = in.get(1), v = in.get(2);
        if (!k.equals(v)) throw new ShapeException("Attention: key and value must have the same shape, got " + k
                + " and " + v);
        if (heads % kvHeads != 0) throw new ShapeException("Attention: " + heads + " heads are not a multiple of "
                + kvHeads + " key/value heads");
        if (q.dim(2) % heads != 0) throw new ShapeException("Attention: width " + q.dim(2)
                + " is not divisible by " + heads + " heads");
        long kvWidth = (long) q.dim(2) / heads * kvHeads;
        if (q.dim(0) != k.dim(0) || k.dim(2) != kvWidth)
            throw new ShapeException("Attention: query " + q + " and key " + k + " differ in batch or width (the key's "
                    + "width must be " + kvHeads + " heads of " + q.dim(2) / heads + ")");
        return List.of(q);
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        Shape q = in.get(0);
        long tq = q.dim(1), tk = in.get(1).dim(1);
        return 4L * q.dim(0) * tq * tk * q.dim(2) + 5L * q.dim(0) * heads * tq * tk;
    }

    /** Backward multiplies four times (fused: and recomputes the probabilities, twice more). */
    @Override
    public long backwardFlops(List<Shape> in, List<Shape> out) {
        return form == Form.FUSED ? 2 * flops(in, out) + flops(in, out) / 2 : 2 * flops(in, out);
    }

    @Override
    public BackwardNeeds backwardNeeds() {
        if (form == Form.FUSED) return new BackwardNeeds(Set.of(0, 1, 2), Set.of(0), false, true);
        return grouped() ? BackwardNeeds.inputs(0).withAux() : BackwardNeeds.inputs(0, 1, 2).withAux();
    }

    /**
     * Fused: lse [N, heads, Tq] (fp32). Eager: probs [N, heads, Tq, Tk] and, for grouped queries, key_rep and
     * value_rep [N, Tk, heads * dh] (the model's float type).
     */
    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        Shape q = in.get(0), k = in.get(1);
        if (form == Form.FUSED) return List.of(new AuxSpec("lse", Shape.of(q.dim(0), heads, q.dim(1)), DType.FP32));
        AuxSpec probs = new AuxSpec("probs", Shape.of(q.dim(0), heads, q.dim(1), k.dim(1)), null);
        if (!grouped()) return List.of(probs);
        Shape rep = Shape.of(k.dim(0), k.dim(1), q.dim(2));
        return List.of(probs, new AuxSpec("key_rep", rep, null), new AuxSpec("value_rep", rep, null));
    }

    /**
     * Fused: the score tile of one (batch, head) pair while it runs, T_q x T_k. Eager: the raw scores live beside
     * their scaled copy (and the masked copy beside the probabilities), one [N, heads, Tq, Tk] tensor more than
     * the probabilities it keeps.
     */
    @Override
    public long workspaceElements(List<Shape> in, List<Shape> out) {
        long tile = (long) in.get(0).dim(1) * in.get(1).dim(1);
        return form == Form.FUSED ? tile : tile * in.get(0).dim(0) * heads;
    }

    /** Fused: two tiles. Eager: the gradients of the probabilities and of the scores, each [N, heads, Tq, Tk]. */
    @Override
    public long backwardWorkspaceElements(List<Shape> in, List<Shape> out) {
        return 2 * workspaceElements(in, out);
    }
}

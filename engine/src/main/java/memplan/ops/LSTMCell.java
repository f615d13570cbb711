package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;
import java.util.Set;

/**
 * One LSTM step: inputs x [N, I], h [N, H], c [N, H]; outputs h' (output 0) and c' (output 1).
 * Parameters as PyTorch's LSTMCell: weight_ih [4H, I], weight_hh [4H, H], bias_ih [4H], bias_hh [4H].
 * Saves x, h, c, the weights, c' and the activated gates [N, 4H] (the "reserve" of fused kernels).
 */
public record LSTMCell(int hidden) implements SequenceOp {
    @Override public String type() { return "LSTMCell"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 3; }
    @Override public int outputCount() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        for (int i = 0; i < 3; i++) Checks.rank("LSTMCell", in, i, 2);
        Checks.positive("LSTMCell", "hidden", hidden);
        Shape x = in.get(0), h = in.get(1), c = in.get(2);
        Shape hs = Shape.of(x.dim(0), hidden);
        if (!h.equals(hs) || !c.equals(hs))
            throw new ShapeException("LSTMCell: h and c must be " + hs + ", got " + h + " and " + c);
        return List.of(hs, hs);
    }

    @Override
    public List<ParamSpec> params(List<Shape> in) {
        int i = in.get(0).dim(1);
        return List.of(ParamSpec.trainable("weight_ih", 4 * hidden, i),
                ParamSpec.trainable("weight_hh", 4 * hidden, hidden),
                ParamSpec.trainable("bias_ih", 4 * hidden), ParamSpec.trainable("bias_hh", 4 * hidden));
    }

    @Override
    public long flops(List<Shape> in, List<Shape> out) {
        long n = in.get(0).dim(0);
        return 2L * n * 4 * hidden * (in.get(0).dim(1) + hidden) + 12L * n * hidden;
    }

    @Override public BackwardNeeds backwardNeeds() { return new BackwardNeeds(Set.of(0, 1, 2), Set.of(1), true, true); }

    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        return List.of(new AuxSpec("gates", Shape.of(in.get(0).dim(0), 4 * hidden), null));
    }
}

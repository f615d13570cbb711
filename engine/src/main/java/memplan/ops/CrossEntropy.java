package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.Arrays;
import java.util.List;

/**
 * Mean cross-entropy of logits against integer class targets (log_softmax + nll_loss). The class axis is 1 as in
 * PyTorch ([N, C] or [N, C, H, W]) unless classAxis says otherwise (-1 for language models' [N, T, V]).
 * Output: a scalar. Saves the log-softmax (aux) and the target.
 */
public record CrossEntropy(int classAxis) implements LossOp {
    @Override public String type() { return "CrossEntropy"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape logits = in.get(0), target = in.get(1);
        Checks.minRank("CrossEntropy", in, 0, 2);
        int ax = Checks.axis("CrossEntropy", classAxis, logits.rank());
        int[] expected = new int[logits.rank() - 1];
        for (int i = 0, j = 0; i < logits.rank(); i++) if (i != ax) expected[j++] = logits.dim(i);
        if (!target.equals(new Shape(expected)))
            throw new ShapeException("CrossEntropy: target must be " + Arrays.toString(expected).replace(", ", "x")
                    + " for logits " + logits + " (class axis " + classAxis + "), got " + target);
        return List.of(Shape.of());
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 6 * in.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 2 * in.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(1).withAux(); }
    @Override public boolean differentiable(int input) { return input == 0; }
    @Override public boolean integerInput(int input) { return input == 1; }

    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        return List.of(new AuxSpec("log_softmax", in.get(0), null));
    }
}

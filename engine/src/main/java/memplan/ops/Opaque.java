package memplan.ops;

import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An operator MemPlan does not model (kept by an importer on request so a profile can still be seen): every output
 * has the shape of input 0, costs one flop per element, and backward is assumed to read input 0. {@code source}
 * names the original operator, e.g. "onnx:Selu".
 *
 * <p>An operator whose output size depends on the data is sized at its upper bound instead ({@code bound} not
 * NONE): its outputs are int64 indices of the largest size the values could give (see {@link Bound}); no gradient
 * flows through indices, so its inputs get a zero gradient and backward reads nothing.
 */
public record Opaque(String source, int inputCount, int outputs, Bound bound, int limit) implements OpaqueOp {
    /** Bounds on what a file may declare: each output is a tensor, with a gradient, in every analysis. */
    public static final int MAX_INPUTS = 4096, MAX_OUTPUTS = 4096;

    /** The upper bound of a data-dependent output, from the input shapes. */
    public enum Bound {
        /** Input 0's shape (no bound: an operator MemPlan does not model). */
        NONE,
        /** ONNX NonZero: [rank, numel] indices, every element nonzero. */
        NONZERO,
        /**
         * ONNX NonMaxSuppression of boxes [B, n, 4] and scores [B, C, n]: [B · C · min(limit, n), 3] selected
         * (batch, class, box) triples, limit = max_output_boxes_per_class, every box kept for every class.
         */
        NMS,
        /** ONNX Unique: every output of input 0's element count (all values distinct). */
        UNIQUE;

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The bound of a JSON name, or null. */
        public static Bound of(String name) {
            for (Bound b : values()) if (b.jsonName().equals(name)) return b;
            return null;
        }
    }

    public Opaque {
        if (inputCount < 1 || inputCount > MAX_INPUTS)
            throw new IllegalArgumentException("Opaque: arity must be 1.." + MAX_INPUTS + ", got " + inputCount);
        if (outputs < 1 || outputs > MAX_OUTPUTS)
            throw new IllegalArgumentException("Opaque: outputs must be 1.." + MAX_OUTPUTS + ", got " + outputs);
        if (bound == null) bound = Bound.NONE;
        if (bound == Bound.NMS && (inputCount < 2 || limit < 0))
            throw new IllegalArgumentException("Opaque nms: needs boxes and scores and a limit >= 0");
    }

    /** An operator MemPlan does not model, with outputs of input 0's shape. */
    public Opaque(String source, int inputCount, int outputs) {
        this(source, inputCount, outputs, Bound.NONE, 0);
    }

    @Override public String type() { return "Opaque"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return inputCount; }
    @Override public int outputCount() { return outputs; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        Shape y = switch (bound) {
            case NONE -> in.get(0);
            case NONZERO -> Shape.of(in.get(0).rank(), size(in.get(0).numel()));
            case UNIQUE -> Shape.of(size(in.get(0).numel()));
            case NMS -> {
                Shape boxes = in.get(0), scores = in.get(1);
                if (boxes.rank() != 3 || scores.rank() != 3 || boxes.dim(0) != scores.dim(0)
                        || boxes.dim(1) != scores.dim(2))
                    throw new ShapeException("Opaque nms: boxes " + boxes + " and scores " + scores
                            + " must be [B, n, 4] and [B, C, n]");
                yield Shape.of(size((long) boxes.dim(0) * scores.dim(1) * Math.min(limit, boxes.dim(1))), 3);
            }
        };
        List<Shape> out = new ArrayList<>();
        for (int i = 0; i < outputs; i++) out.add(y);
        return out;
    }

    private static int size(long n) {
        if (n > Integer.MAX_VALUE)
            throw new ShapeException("Opaque: an upper bound of " + n + " elements is too large");
        return (int) n;
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return in.get(0).numel(); }

    @Override
    public BackwardNeeds backwardNeeds() {
        return bound == Bound.NONE ? BackwardNeeds.inputs(0) : BackwardNeeds.NOTHING;
    }

    @Override public DType outputDType(int output) { return bound == Bound.NONE ? null : DType.INT64; }
}

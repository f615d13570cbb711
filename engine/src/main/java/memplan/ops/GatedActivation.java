package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.Shape;
import memplan.ir.ShapeException;

import java.util.List;
import java.util.Locale;

/**
 * The gated MLP activation act(gate) * up of two equal-shaped inputs (the gate and up projections): SwiGLU with
 * SiLU, GeGLU with GELU (MemPlan's GELU, the tanh approximation). Written in PyTorch as
 * {@code F.silu(gate(x)) * up(x)}, autograd keeps
 * the gate (for the activation's backward), act(gate) and up (the product's operands); the op keeps the same,
 * act(gate) as an aux tensor.
 */
public record GatedActivation(Gate gate) implements BinaryOp {
    /** The activation applied to the gate. */
    public enum Gate {
        SILU, GELU;

        /** The name in model files ("silu", "gelu"). */
        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The gate of a model file's name, or null. */
        public static Gate of(String name) {
            for (Gate g : values()) if (g.jsonName().equals(name)) return g;
            return null;
        }
    }

    public GatedActivation {
        if (gate == null) throw new IllegalArgumentException("GatedActivation: gate is null");
    }

    @Override public String type() { return "GatedActivation"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int arity() { return 2; }

    @Override
    public List<Shape> inferShapes(List<Shape> in) {
        if (!in.get(0).equals(in.get(1)))
            throw new ShapeException("GatedActivation: gate " + in.get(0) + " and up " + in.get(1)
                    + " must have the same shape");
        return List.of(in.get(0));
    }

    @Override public long flops(List<Shape> in, List<Shape> out) { return 6 * out.get(0).numel(); }
    @Override public long backwardFlops(List<Shape> in, List<Shape> out) { return 8 * out.get(0).numel(); }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0, 1).withAux(); }

    /** act(gate), the product's left operand. */
    @Override
    public List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        return List.of(new AuxSpec("activated", in.get(0), null));
    }

    /** The backward's product gradient * up lives while the activation's backward turns it into the gate's. */
    @Override
    public long backwardWorkspaceElements(List<Shape> in, List<Shape> out) {
        return in.get(0).numel();
    }
}

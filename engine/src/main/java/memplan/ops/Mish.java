package memplan.ops;

import memplan.ir.BackwardNeeds;

/**
 * Mish, x * tanh(softplus(x)) (Misra 2019; PyTorch's nn.Mish, ONNX Mish from opset 18). Backward needs its input,
 * as PyTorch's mish_backward does, so it cannot run in place.
 */
public record Mish() implements Elementwise {
    @Override public String type() { return "Mish"; }
    @Override public <R> R accept(OpVisitor<R> v) { return v.visit(this); }
    @Override public int flopsPerElement() { return 10; }
    @Override public BackwardNeeds backwardNeeds() { return BackwardNeeds.inputs(0); }
}

package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;

import java.util.List;

/**
 * One operation of a network: a closed set of immutable records grouped by kind (see {@link OpVisitor}). Each record
 * keeps its rules in one place — shape inference, parameters, cost, what its backward pass needs, its workspace,
 * whether it may run in place — as abstract methods, so a new op that lacks one does not compile. Everything that
 * acts on ops from outside (kernels, the JSON codec, the ONNX exporter) dispatches through {@link #accept}, an
 * exhaustive visitor: adding a record and its {@code visit} method makes the compiler list every consumer that
 * lacks a case. Ops know nothing about batch size or dtype beyond the shapes they are given.
 */
public sealed interface Op permits UnaryOp, BinaryOp, ReduceOp, MovementOp, GemmOp, NormOp, PoolOp, SequenceOp,
        AttentionOp, LossOp, OpaqueOp, SourceOp {
    /** Name used in model files, e.g. "Conv2d". */
    String type();

    /** Number of inputs, or -1 for "one or more". */
    int arity();

    /** Number of outputs (almost always 1). */
    default int outputCount() {
        return 1;
    }

    /**
     * Output shapes for the given input shapes; throws {@link memplan.ir.ShapeException} saying why they do not fit.
     */
    List<Shape> inferShapes(List<Shape> in);

    /** Parameters (weights and buffers) this op owns, given its input shapes. */
    default List<ParamSpec> params(List<Shape> in) {
        return List.of();
    }

    /** Floating-point operations of the forward pass (a multiply-add counts 2). */
    long flops(List<Shape> in, List<Shape> out);

    /** Floating-point operations of the backward pass. */
    default long backwardFlops(List<Shape> in, List<Shape> out) {
        return params(in).stream().anyMatch(ParamSpec::trainable) ? 2 * flops(in, out) : flops(in, out);
    }

    /** What backward reads besides output gradients (PyTorch's saved tensors). */
    BackwardNeeds backwardNeeds();

    /** Extra tensors the forward writes for backward (indices, masks, statistics). */
    default List<AuxSpec> aux(List<Shape> in, List<Shape> out) {
        return List.of();
    }

    /** Scratch elements (model float type) the forward step needs while it runs. */
    default long workspaceElements(List<Shape> in, List<Shape> out) {
        return 0;
    }

    /** Scratch elements the backward step needs while it runs. */
    default long backwardWorkspaceElements(List<Shape> in, List<Shape> out) {
        return workspaceElements(in, out);
    }

    /**
     * Whether output 0 may overwrite input 0 without changing results (backward does not need that input), where
     * output 0 has input 0's shape: a broadcasting op whose output is larger cannot (see {@code Node.mayRunInPlace}).
     */
    default boolean mayRunInPlace() {
        return false;
    }

    /** A view (Reshape, Flatten) shares its input's memory: no allocation and no kernel. */
    default boolean isView() {
        return false;
    }

    /** Whether a gradient flows into input i (false for indices and labels). */
    default boolean differentiable(int input) {
        return true;
    }

    /** Whether input i must be an integer tensor (Embedding's indices, CrossEntropy's class targets). */
    default boolean integerInput(int input) {
        return false;
    }

    /** dtype of output i; null means the model's floating type. */
    default DType outputDType(int output) {
        return null;
    }

    /** Calls the visitor's method for this op's record type. */
    <R> R accept(OpVisitor<R> visitor);
}

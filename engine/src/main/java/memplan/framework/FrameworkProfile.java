package memplan.framework;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.AvgPool2d;
import memplan.ops.BatchNorm2d;
import memplan.ops.BinaryOp;
import memplan.ops.Clip;
import memplan.ops.Conv2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Dropout;
import memplan.ops.GlobalAvgPool;
import memplan.ops.Op;
import memplan.ops.ReduceMean;
import memplan.ops.Transpose;
import memplan.ops.UnaryOp;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How a training framework lays out one iteration in memory, beyond what every op needs (its saved tensors as
 * {@link Op#backwardNeeds()} gives them): what a framework version saves differently on a device, the optimizer's
 * temporaries, and how long weight gradients live. Measured against PyTorch 1.13 with tools/pytorch (see
 * docs/fidelity.md).
 *
 * @param name                the name on the command line ({@code --framework})
 * @param poolingKeepsInput   average pooling, global average pooling and mean keep their input for backward
 *                            (PyTorch saves {@code self} to know its shape and strides)
 * @param clipKeepsInput      Clip (ReLU6, hardtanh) keeps its input: PyTorch's hardtanh saves {@code self}, and its
 *                            in-place form keeps a copy of it
 * @param dropoutMaskIsFloat  Dropout keeps a mask of the input's float type (PyTorch on the CPU multiplies by a
 *                            float noise tensor); otherwise a 1-byte mask (the fused CUDA kernel)
 * @param onednnConvolution   convolutions run on oneDNN (PyTorch on the CPU) instead of MemPlan's im2col: forward, a
 *                            non-1x1 or grouped one reorders its weight and its larger activation into blocked
 *                            layouts while it runs, a strided 1x1 one copies its weight and input, an unstrided 1x1
 *                            one runs as a GEMM without copies; backward, see {@link #backwardWorkspaceElements}
 * @param lossGradientTemporary cross-entropy's backward holds a logits-sized temporary (the gradient of the
 *                            log-probabilities) besides the logits' gradient
 * @param optimizerTemporaries the optimizer allocates PyTorch's temporaries (Adam: the square root of exp_avg_sq and
 *                            the denominator, per parameter or, with {@code foreach}, for all parameters at once)
 * @param gradsLiveThroughStep weight gradients live until {@code zero_grad} after the whole optimizer step, as in an
 *                            eager loop, not only until their own parameter's update
 * @param optimizerForm       single-tensor or foreach
 * @param zeroGrad            what zero_grad does (set_to_none or zeros)
 * @param slicesAreViews      Slice and Split give views of their input ({@code x[:, a:b]}, {@code torch.chunk},
 *                            {@code torch.split}): no copy is made, and an op that saves a part keeps the whole
 *                            input alive
 * @param reusedGradsOutOfPlace a parameter used more than once in one pass (an RNN's weights, once per step) gets a
 *                            gradient from each use, which autograd adds to the sum so far out of place: while it
 *                            adds, the new gradient and the new sum live beside the old sum
 */
public record FrameworkProfile(String name, boolean poolingKeepsInput, boolean clipKeepsInput,
                               boolean dropoutMaskIsFloat, boolean onednnConvolution,
                               boolean lossGradientTemporary, boolean optimizerTemporaries,
                               boolean gradsLiveThroughStep, OptimizerForm optimizerForm, ZeroGrad zeroGrad,
                               boolean slicesAreViews, boolean reusedGradsOutOfPlace) {

    /** MemPlan's own baseline: each op's saved tensors, no optimizer temporaries, gradients freed at their update. */
    public static final FrameworkProfile GENERIC = new FrameworkProfile("generic",
            false, false, false, false, false, false, false,
            OptimizerForm.SINGLE_TENSOR, ZeroGrad.TO_NONE, false, false);
    /** PyTorch 1.13 on the CPU (measured). */
    public static final FrameworkProfile PYTORCH_CPU = new FrameworkProfile("pytorch-cpu",
            true, true, true, true, true, true, true,
            OptimizerForm.SINGLE_TENSOR, ZeroGrad.TO_NONE, true, true);
    /**
     * PyTorch 1.13 on CUDA: as on the CPU except that Dropout's fused kernel keeps a 1-byte mask. Not measured
     * here (no GPU); cuDNN's workspaces and the caching allocator's 512-byte rounding are not modelled (MemPlan's
     * im2col workspace stands in for the convolution's).
     */
    public static final FrameworkProfile PYTORCH_CUDA = new FrameworkProfile("pytorch-cuda",
            true, true, false, false, true, true,
            true, OptimizerForm.SINGLE_TENSOR, ZeroGrad.TO_NONE, true, true);

    public static final List<FrameworkProfile> ALL = List.of(PYTORCH_CPU, PYTORCH_CUDA, GENERIC);

    public static FrameworkProfile parse(String s) {
        for (FrameworkProfile p : ALL) if (p.name.equalsIgnoreCase(s)) return p;
        throw new IllegalArgumentException("unknown framework '" + s + "' (use pytorch-cpu, pytorch-cuda or generic)");
    }

    public FrameworkProfile withOptimizerForm(OptimizerForm f) {
        return new FrameworkProfile(name, poolingKeepsInput, clipKeepsInput, dropoutMaskIsFloat, onednnConvolution,
                lossGradientTemporary, optimizerTemporaries,
                gradsLiveThroughStep, f, zeroGrad, slicesAreViews, reusedGradsOutOfPlace);
    }

    public FrameworkProfile withZeroGrad(ZeroGrad z) {
        return new FrameworkProfile(name, poolingKeepsInput, clipKeepsInput, dropoutMaskIsFloat, onednnConvolution,
                lossGradientTemporary, optimizerTemporaries,
                gradsLiveThroughStep, optimizerForm, z, slicesAreViews, reusedGradsOutOfPlace);
    }

    /** What the op's backward reads in this framework: the op's own rule plus what the framework keeps besides. */
    public BackwardNeeds backwardNeeds(Op op) {
        BackwardNeeds n = op.backwardNeeds();
        boolean keepInput = poolingKeepsInput && (op instanceof AvgPool2d || op instanceof GlobalAvgPool
                || op instanceof ReduceMean) || clipKeepsInput && op instanceof Clip;
        if (!keepInput || n.inputs().contains(0)) return n;
        Set<Integer> in = new HashSet<>(n.inputs());
        in.add(0);
        return new BackwardNeeds(Set.copyOf(in), n.outputs(), n.params(), n.aux());
    }

    /** Scratch elements the op's forward step holds while it runs in this framework. */
    public long forwardWorkspaceElements(Op op, List<Shape> in, List<Shape> out) {
        if (!onednnConvolution || !(op instanceof Conv2d c)) return op.workspaceElements(in, out);
        long weight = (long) c.outChannels() * (in.get(0).dim(1) / c.groups()) * c.kernel().h() * c.kernel().w();
        boolean pointwise = c.kernel().h() == 1 && c.kernel().w() == 1 && c.groups() == 1;
        if (pointwise) return c.stride().h() == 1 && c.stride().w() == 1 ? 0 : weight + in.get(0).numel();
        return weight + Math.max(in.get(0).numel(), out.get(0).numel());
    }

    /**
     * Scratch elements the op's backward step holds in this framework besides the gradients it makes. oneDNN's
     * convolution backward (measured, PyTorch 1.13): reorders of the output gradient and the input into blocked
     * layouts while the weight gradient is made, or the blocked weight gradient if that is larger; none for an
     * unstrided 1x1 convolution.
     */
    public long backwardWorkspaceElements(Op op, List<Shape> in, List<Shape> out) {
        return backwardWorkspaceElements(op, in, out, false);
    }

    /**
     * As {@link #backwardWorkspaceElements(Op, List, List)}, knowing whether the op's input is in PyTorch's
     * channels-last layout ({@link #channelsLast}). oneDNN's depthwise convolution backward on a channels-last
     * input makes its weight gradient in a buffer of 256 partial sums per weight (C x kh x kw x 256 floats, whatever
     * the batch and the image size; measured, PyTorch 1.13.1, one thread) and a small per-channel one.
     */
    public long backwardWorkspaceElements(Op op, List<Shape> in, List<Shape> out, boolean channelsLastInput) {
        if (onednnConvolution && channelsLastInput && op instanceof Conv2d c && c.groups() > 1
                && c.groups() == in.get(0).dim(1) && c.groups() == c.outChannels()) {
            long taps = (long) c.kernel().h() * c.kernel().w();
            return c.groups() * taps * 256 + c.groups() * 16L + 32;
        }
        return contiguousBackwardWorkspaceElements(op, in, out);
    }

    private long contiguousBackwardWorkspaceElements(Op op, List<Shape> in, List<Shape> out) {
        // cross-entropy is log_softmax then nll_loss: nll_loss's backward makes a dense gradient of the
        // log-probabilities, live while log_softmax's backward makes the logits' gradient
        if (lossGradientTemporary && op instanceof CrossEntropy) return in.get(0).numel();
        // PyTorch's CPU batch norm backward (native_batch_norm_backward, 1.13) makes its input gradient and a
        // second input-sized buffer for a moment (measured with tools/pytorch/plancheck.py: the peak of plans that
        // free the early activations falls there)
        if (onednnConvolution && op instanceof BatchNorm2d) return in.get(0).numel();
        if (!onednnConvolution || !(op instanceof Conv2d c)) return op.backwardWorkspaceElements(in, out);
        long weight = (long) c.outChannels() * (in.get(0).dim(1) / c.groups()) * c.kernel().h() * c.kernel().w();
        long activations = in.get(0).numel() + out.get(0).numel();
        boolean pointwise = c.kernel().h() == 1 && c.kernel().w() == 1 && c.groups() == 1;
        if (pointwise) return c.stride().h() == 1 && c.stride().w() == 1 ? 0 : activations;
        return Math.max(activations, weight);
    }

    /**
     * Which values of the graph PyTorch holds in the channels-last layout: a 4-d permute (0, 3, 1, 2) makes one (as
     * ConvNeXt's blocks and LayerNorm2d do), convolutions, elementwise ops and batch norm keep their input's layout.
     * Only the CPU profile's oneDNN rules read it.
     */
    public boolean[] channelsLast(Graph g) {
        boolean[] cl = new boolean[g.values().size()];
        if (!onednnConvolution) return cl;
        for (Node n : g.nodes()) {
            Op op = n.op();
            boolean out = false;
            if (op instanceof Transpose t) out = t.perm().equals(List.of(0, 3, 1, 2));
            else if (op instanceof Conv2d || op instanceof UnaryOp || op instanceof BinaryOp
                    || op instanceof BatchNorm2d) for (int v : n.inputs()) out |= cl[v];
            if (!out) continue;
            for (int k = 0; k < n.outputs().length; k++) cl[n.outputs()[k]] = n.outShapes().get(k).rank() == 4;
        }
        return cl;
    }

    /** The dtype of an aux tensor an op keeps, given the one the op declares and the model's float type. */
    public DType auxType(Op op, DType declared, DType floatType) {
        return dropoutMaskIsFloat && op instanceof Dropout ? floatType : declared;
    }

    /** Weight gradients stay allocated between iterations. */
    public boolean gradsPersist() {
        return zeroGrad == ZeroGrad.ZEROS;
    }
}

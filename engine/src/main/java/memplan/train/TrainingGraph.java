package memplan.train;

import memplan.framework.FrameworkProfile;
import memplan.framework.OptimizerForm;
import memplan.framework.ZeroGrad;
import memplan.graph.Graph;
import memplan.graph.GraphException;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.graph.ValueKind;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.CrossEntropy;
import memplan.ops.Input;
import memplan.ops.MseLoss;
import memplan.ops.Slice;
import memplan.ops.Split;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Derives one training iteration from a forward graph: forward steps in topological order, then backward steps
 * in reverse order (each reading the gradients of its outputs and the tensors its op saved), then one optimizer
 * step per trainable parameter. Views (Reshape, Flatten) share their input's tensor and get no steps.
 * A {@link FrameworkProfile} adds what a framework keeps besides each op's own saved tensors, the optimizer's
 * temporaries and a closing {@code zero_grad} step until which the weight gradients live.
 */
public final class TrainingGraph {
    private TrainingGraph() {
    }

    /** The generic baseline ({@link FrameworkProfile#GENERIC}). */
    public static Schedule derive(Graph g, Optimizer optimizer) {
        return derive(g, optimizer, FrameworkProfile.GENERIC);
    }

    public static Schedule derive(Graph g, Optimizer optimizer, FrameworkProfile fw) {
        List<TensorInfo> tensors = new ArrayList<>();
        int nv = g.values().size();
        int[] tensorOfValue = new int[nv];
        int[] gradOfValue = new int[nv];
        Arrays.fill(tensorOfValue, -1);
        Arrays.fill(gradOfValue, -1);

        // Forward tensors: one per value that owns memory; views reuse the tensor they share.
        for (Value v : g.values()) {
            if (v.viewOf() >= 0) {
                tensorOfValue[v.id()] = tensorOfValue[g.storageOf(v.id())];
                continue;
            }
            if (sliceView(g, v.producer(), fw)) {
                // a slice is a view of the sliced tensor: whoever reads or saves it keeps the whole of it
                tensorOfValue[v.id()] = tensorOfValue[g.nodes().get(v.producer()).inputs()[0]];
                continue;
            }
            TensorKind kind = switch (v.kind()) {
                case DATA -> TensorKind.DATA;
                case PARAM -> TensorKind.PARAM;
                case BUFFER -> TensorKind.BUFFER;
                case ACTIVATION -> TensorKind.ACTIVATION;
                case AUX -> TensorKind.AUX;
            };
            DType dt = kind == TensorKind.AUX && v.producer() >= 0
                    ? fw.auxType(g.nodes().get(v.producer()).op(), v.dtype(), g.floatType()) : v.dtype();
            tensorOfValue[v.id()] = add(tensors, v.name(), v.shape(), dt, kind, v.id());
        }

        // Which values carry a gradient: trainable parameters, and outputs of nodes fed by such values.
        boolean[] requiresGrad = new boolean[nv];
        for (Value v : g.values()) if (v.kind() == ValueKind.PARAM) requiresGrad[v.id()] = true;
        for (Node n : g.nodes()) {
            boolean any = false;
            for (int i = 0; i < n.inputs().length; i++) any |= n.op().differentiable(i) && requiresGrad[n.inputs()[i]];
            for (int p : n.params()) any |= requiresGrad[p];
            if (n.op() instanceof Input) any = false;
            for (int o : n.outputs()) requiresGrad[o] = any;
        }

        int lossNode = findLoss(g);
        int lossValue = g.nodes().get(lossNode).outputs()[0];
        // Values from which the loss is reachable (others get no gradient).
        boolean[] reachesLoss = new boolean[nv];
        reachesLoss[lossValue] = true;
        for (int i = g.nodes().size() - 1; i >= 0; i--) {
            Node n = g.nodes().get(i);
            boolean r = false;
            for (int o : n.outputs()) r |= reachesLoss[o];
            if (!r) continue;
            for (int in : n.inputs()) reachesLoss[in] = true;
            for (int p : n.params()) reachesLoss[p] = true;
        }

        List<Step> steps = new ArrayList<>();
        int[] fwdStep = new int[g.nodes().size()];
        int[] bwdStep = new int[g.nodes().size()];
        Arrays.fill(fwdStep, -1);
        Arrays.fill(bwdStep, -1);
        DType ft = g.floatType();

        for (Node n : g.nodes()) {
            if (n.op() instanceof Input || n.op().isView() || sliceView(g, n.index(), fw)) continue;
            Set<Integer> reads = new LinkedHashSet<>();
            for (int in : n.inputs()) reads.add(tensorOfValue[in]);
            for (int p : n.params()) reads.add(tensorOfValue[p]);
            Set<Integer> writes = new LinkedHashSet<>();
            for (int o : n.outputs()) writes.add(tensorOfValue[o]);
            for (int a : n.aux()) writes.add(tensorOfValue[a]);
            long ws = fw.forwardWorkspaceElements(n.op(), n.inShapes(), n.outShapes());
            int wsId = ws > 0 ? add(tensors, n.name() + ".workspace", Shape.of((int) Math.min(ws, Integer.MAX_VALUE)),
                    ft, TensorKind.WORKSPACE, -1) : -1;
            fwdStep[n.index()] = steps.size();
            steps.add(step(steps.size(), Phase.FORWARD, n.index(), n.name(), reads, writes, wsId, n.flops(), tensors));
        }

        boolean[] channelsLast = fw.channelsLast(g);
        for (int i = g.nodes().size() - 1; i >= 0; i--) {
            Node n = g.nodes().get(i);
            if (n.op() instanceof Input || n.op().isView()) continue;
            boolean isLoss = i == lossNode;
            // Gradients of this node's outputs that exist (some outputs may not reach the loss).
            Set<Integer> reads = new LinkedHashSet<>();
            boolean anyOutGrad = isLoss;
            for (int o : n.outputs()) {
                int gid = gradOfValue[g.storageOf(o)];
                if (gid >= 0 && requiresGrad[o] && reachesLoss[o]) {
                    reads.add(gid);
                    anyOutGrad = true;
                }
            }
            if (!anyOutGrad || !requiresGrad[n.outputs()[0]] && !anyParamNeedsGrad(n, requiresGrad)) continue;
            BackwardNeeds needs = fw.backwardNeeds(n.op());
            for (int k : needs.inputs()) reads.add(tensorOfValue[n.inputs()[k]]);
            for (int k : needs.outputs()) reads.add(tensorOfValue[n.outputs()[k]]);
            if (needs.params()) for (int p : n.params()) reads.add(tensorOfValue[p]);
            if (needs.aux()) for (int a : n.aux()) reads.add(tensorOfValue[a]);
            Set<Integer> writes = new LinkedHashSet<>();
            // gradients this step creates: a value that is several of its inputs (Mul(x, x)) gets one, written
            // then accumulated within the step, never read before
            Set<Integer> created = new HashSet<>();
            for (int k = 0; k < n.inputs().length; k++) {
                int in = n.inputs()[k];
                if (!n.op().differentiable(k) || !requiresGrad[in] || !reachesLoss[in]) continue;
                int storage = g.storageOf(in);
                int gid = gradOfValue[storage];
                if (gid < 0) {
                    Value v = g.value(storage);
                    gid = add(tensors, "grad(" + v.name() + ")", v.shape(), v.dtype(),
                            TensorKind.ACTIVATION_GRAD, storage);
                    gradOfValue[storage] = gid;
                    created.add(gid);
                } else if (!created.contains(gid)) reads.add(gid); // accumulate into an existing gradient
                writes.add(gid);
            }
            for (int p : n.params()) {
                Value v = g.value(p);
                if (v.kind() != ValueKind.PARAM) continue;
                int gid = gradOfValue[p];
                if (gid < 0) {
                    gid = add(tensors, "grad(" + v.name() + ")", v.shape(), v.dtype(), TensorKind.PARAM_GRAD, p);
                    gradOfValue[p] = gid;
                    created.add(gid);
                } else if (!created.contains(gid)) reads.add(gid); // tied or reused parameter
                writes.add(gid);
            }
            long ws = fw.backwardWorkspaceElements(n.op(), n.inShapes(), n.outShapes(),
                    n.inputs().length > 0 && channelsLast[n.inputs()[0]]);
            int wsId = ws > 0 ? add(tensors, n.name() + ".backward_workspace",
                    Shape.of((int) Math.min(ws, Integer.MAX_VALUE)), ft, TensorKind.WORKSPACE, -1) : -1;
            bwdStep[i] = steps.size();
            steps.add(step(steps.size(), Phase.BACKWARD, i, n.name() + " backward", reads, writes, wsId,
                    n.backwardFlops(), tensors));
        }
        // Views share the gradient of the value they view.
        for (Value v : g.values()) if (v.viewOf() >= 0) gradOfValue[v.id()] = gradOfValue[g.storageOf(v.id())];

        long updated = 0;
        for (Value v : g.values()) if (v.kind() == ValueKind.PARAM && gradOfValue[v.id()] >= 0)
            updated += v.shape().numel();
        boolean foreach = fw.optimizerTemporaries() && fw.optimizerForm() == OptimizerForm.FOREACH;
        boolean single = fw.optimizerTemporaries() && fw.optimizerForm() == OptimizerForm.SINGLE_TENSOR;
        List<Integer> paramGrads = new ArrayList<>();
        for (Value v : g.values()) {
            if (v.kind() != ValueKind.PARAM || gradOfValue[v.id()] < 0) continue;
            paramGrads.add(gradOfValue[v.id()]);
            // foreach: the temporaries of all parameters at once, while the first update runs
            long tmp = foreach && paramGrads.size() == 1 ? optimizer.temporariesPerParam * updated
                    : single ? optimizer.temporariesPerParam * v.shape().numel() : 0;
            int tmpId = tmp == 0 ? -1 : add(tensors, (foreach ? "foreach" : v.name()) + ".optimizer_temporaries",
                    Shape.of(optimizer.temporariesPerParam, (int) (tmp / optimizer.temporariesPerParam)), v.dtype(),
                    TensorKind.WORKSPACE, -1);
            Set<Integer> reads = new LinkedHashSet<>();
            Set<Integer> writes = new LinkedHashSet<>();
            reads.add(gradOfValue[v.id()]);
            reads.add(tensorOfValue[v.id()]);
            writes.add(tensorOfValue[v.id()]);
            for (int s = 0; s < optimizer.statesPerParam; s++) {
                int sid = add(tensors, v.name() + "." + optimizer.stateName(s), v.shape(), v.dtype(),
                        TensorKind.OPTIMIZER_STATE, v.id());
                reads.add(sid);
                writes.add(sid);
            }
            steps.add(step(steps.size(), Phase.OPTIMIZER, -1, "update " + v.name(), reads, writes, tmpId,
                    optimizer.flopsPerElement * v.shape().numel(), tensors));
        }
        if (fw.gradsLiveThroughStep() && !paramGrads.isEmpty()) {
            // zero_grad after the whole step: set_to_none frees the gradients here, zeros writes into them
            Set<Integer> grads = new LinkedHashSet<>(paramGrads);
            steps.add(step(steps.size(), Phase.OPTIMIZER, -1, "zero_grad", grads,
                    fw.zeroGrad() == ZeroGrad.ZEROS ? grads : Set.of(), -1, 0, tensors));
        }
        return new Schedule(g, optimizer, fw, tensors, steps, tensorOfValue, gradOfValue, fwdStep, bwdStep,
                tensorOfValue[lossValue]);
    }

    /** The node is a Slice or Split that the framework runs as views of its input (no forward step, no copies). */
    private static boolean sliceView(Graph g, int node, FrameworkProfile fw) {
        return fw.slicesAreViews() && node >= 0
                && (g.nodes().get(node).op() instanceof Split || g.nodes().get(node).op() instanceof Slice);
    }

    private static boolean anyParamNeedsGrad(Node n, boolean[] requiresGrad) {
        for (int p : n.params()) if (requiresGrad[p]) return true;
        return false;
    }

    /** The loss is the last node whose op is a loss and whose output is a scalar. */
    private static int findLoss(Graph g) {
        for (int i = g.nodes().size() - 1; i >= 0; i--) {
            Node n = g.nodes().get(i);
            if ((n.op() instanceof CrossEntropy || n.op() instanceof MseLoss)
                    && n.outShapes().get(0).rank() == 0) return i;
        }
        throw new GraphException(g.model().source() == null ? g.model().name() : g.model().source(), "layers",
                "the model has no loss layer: add a CrossEntropy or MseLoss layer whose inputs are the output and a "
                        + "target Input");
    }

    private static int add(List<TensorInfo> tensors, String name, Shape shape, DType dtype,
            TensorKind kind, int value) {
        int id = tensors.size();
        tensors.add(new TensorInfo(id, name, shape, dtype, kind, value, shape.numel() * dtype.bytes));
        return id;
    }

    private static Step step(int index, Phase phase, int node, String label, Set<Integer> reads,
            Set<Integer> writes, int ws,
                             long flops, List<TensorInfo> tensors) {
        long bytes = 0;
        Set<Integer> all = new LinkedHashSet<>(reads);
        all.addAll(writes);
        for (int t : all) bytes += tensors.get(t).bytes();
        return new Step(index, phase, node, label, reads.stream().mapToInt(Integer::intValue).toArray(),
                writes.stream().mapToInt(Integer::intValue).toArray(), ws, flops, bytes);
    }
}

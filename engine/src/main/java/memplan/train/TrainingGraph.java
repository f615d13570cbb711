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
import memplan.ops.Attention;
import memplan.ops.Conv2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.MatMul;
import memplan.ops.MseLoss;
import memplan.ops.Mul;
import memplan.ops.Op;
import memplan.ops.RMSNorm;
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
        return derive(g, optimizer, fw, TrainingSetup.DEFAULT);
    }

    /**
     * The iteration of a {@link TrainingSetup}: frozen parameters get no gradient, no state and no update, and a
     * node whose inputs and parameters need no gradient gets no backward step (so a frozen prefix of the model has
     * no backward at all); Linear, MatMul and Mul save only what the gradients still wanted need, as PyTorch's
     * autograd does. With K micro-batches the schedule is one micro-batch after the first: the weight gradients
     * live through it (made by an earlier micro-batch), and each weight gradient is made in a temporary and added
     * into them. The optimizer step follows once; {@link Schedule#microBatches()} tells the simulator to count the
     * forward and backward time K times.
     */
    public static Schedule derive(Graph g, Optimizer optimizer, FrameworkProfile fw, TrainingSetup setup) {
        if (setup.optimizerStates() == OptimizerStates.BLOCKWISE_8BIT && optimizer != Optimizer.ADAM)
            throw new IllegalArgumentException("8-bit optimizer states are modelled for Adam (bitsandbytes' Adam8bit)"
                    + " only, not " + optimizer.name().toLowerCase());
        String src = g.model().source() == null ? g.model().name() : g.model().source();
        boolean[] frozen = frozenParams(g, setup.frozen(), src);
        boolean[] nf4 = nf4Params(g, frozen, setup.baseWeights());
        DType compute = setup.amp().lowType != null ? setup.amp().lowType : g.floatType();
        DType low = setup.amp().lowType;
        DType[] vt = Autocast.valueTypes(g, low);
        List<TensorInfo> tensors = new ArrayList<>();
        int nv = g.values().size();
        int[] tensorOfValue = new int[nv];
        int[] gradOfValue = new int[nv];
        Arrays.fill(tensorOfValue, -1);
        Arrays.fill(gradOfValue, -1);
        int[] probsCast = new int[g.nodes().size()];   // per node: the low-type copy of eager attention's probs
        Arrays.fill(probsCast, -1);

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
                    ? fw.auxType(g.nodes().get(v.producer()).op(), v.dtype(), g.floatType()) : vt[v.id()];
            // an aux tensor of the float type (Dropout's mask) follows its op's type under autocast
            if (kind == TensorKind.AUX && low != null && dt == g.floatType() && v.producer() >= 0
                    && vt[g.nodes().get(v.producer()).outputs()[0]] == low) dt = low;
            // eager attention under autocast: softmax(..., dtype=float32) keeps fp32 probabilities, and the PV
            // matmul keeps its low-type copy of them (measured: tools/pytorch/llama.py under bf16 autocast)
            boolean fp32Probs = kind == TensorKind.AUX && low != null && v.producer() >= 0
                    && g.nodes().get(v.producer()).op() instanceof Attention a && a.form() == Attention.Form.EAGER
                    && g.nodes().get(v.producer()).aux()[0] == v.id();
            if (fp32Probs) {
                tensorOfValue[v.id()] = add(tensors, v.name(), v.shape(), DType.FP32, kind, v.id());
                probsCast[v.producer()] = add(tensors, v.name() + ".autocast", v.shape(), low,
                        TensorKind.ACTIVATION, -1);
                continue;
            }
            if (nf4[v.id()]) {
                // two 4-bit codes per byte, then the fp32 absmax of each block of 64 weights
                long n = v.shape().numel();
                tensorOfValue[v.id()] = add(tensors, v.name(), Shape.of(toInt(BaseWeights.nf4Bytes(n))), DType.UINT8,
                        kind, v.id());
                add(tensors, v.name() + ".absmax", Shape.of(toInt(BaseWeights.nf4Constants(n))), DType.FP32,
                        TensorKind.BUFFER, v.id());
                continue;
            }
            tensorOfValue[v.id()] = add(tensors, v.name(), v.shape(), dt, kind, v.id());
        }

        // Which values carry a gradient: trainable parameters, and outputs of nodes fed by such values.
        boolean[] requiresGrad = new boolean[nv];
        for (Value v : g.values()) if (v.kind() == ValueKind.PARAM && !frozen[v.id()]) requiresGrad[v.id()] = true;
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

        // autocast's low-type copies of fp32 operands, per node: of its inputs and of its parameters
        int[][] castIn = new int[g.nodes().size()][];
        int[][] castParam = new int[g.nodes().size()][];
        List<Integer> cachedCasts = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.op() instanceof Input || n.op().isView() || sliceView(g, n.index(), fw)) continue;
            Set<Integer> reads = new LinkedHashSet<>();
            for (int in : n.inputs()) reads.add(tensorOfValue[in]);
            long castUp = 0;
            if (low != null) {
                castIn[n.index()] = new int[n.inputs().length];
                castParam[n.index()] = new int[n.params().length];
                Arrays.fill(castIn[n.index()], -1);
                Arrays.fill(castParam[n.index()], -1);
                if (Autocast.low(n.op())) {
                    for (int k = 0; k < n.inputs().length; k++) {
                        Value v = g.value(n.inputs()[k]);
                        if (vt[v.id()] == DType.FP32)
                            castIn[n.index()][k] = add(tensors, n.name() + ".autocast_input" + k, v.shape(), low,
                                    TensorKind.ACTIVATION, -1);
                    }
                    for (int k = 0; k < n.params().length; k++) {
                        Value v = g.value(n.params()[k]);
                        if (vt[v.id()] != DType.FP32 || nf4[v.id()]) continue;
                        int c = add(tensors, v.name() + ".autocast", v.shape(), low, TensorKind.ACTIVATION, -1);
                        castParam[n.index()][k] = c;
                        // autocast caches the casts of trainable leaves until the forward pass ends
                        if (v.kind() == ValueKind.PARAM && !frozen[v.id()]) cachedCasts.add(c);
                    }
                } else if (Autocast.fp32(n.op()))
                    for (int in : n.inputs())
                        if (vt[in] == low) castUp += g.value(in).shape().numel() * DType.FP32.bytes;
            }
            long dequant = 0;
            for (int p : n.params()) {
                reads.add(tensorOfValue[p]);
                if (nf4[p]) {
                    reads.add(tensorOfValue[p] + 1); // its absmax constants, added right after it
                    dequant += g.value(p).shape().numel() * compute.bytes;
                }
            }
            Set<Integer> writes = new LinkedHashSet<>();
            for (int o : n.outputs()) writes.add(tensorOfValue[o]);
            for (int a : n.aux()) writes.add(tensorOfValue[a]);
            if (probsCast[n.index()] >= 0) writes.add(probsCast[n.index()]);
            if (castIn[n.index()] != null) {
                for (int c : castIn[n.index()]) if (c >= 0) writes.add(c);
                for (int c : castParam[n.index()]) if (c >= 0) writes.add(c);
            }
            // an NF4 layer dequantises its weight into the compute type for the matmul; a loss under autocast
            // casts its low-type input up to fp32 while it runs
            // a convolution's own scratch (oneDNN's reorders) is of the type it computes in
            long ws = elements(fw.forwardWorkspaceElements(n.op(), n.inShapes(), n.outShapes())
                    * opType(n, low, ft).bytes + dequant + castUp, ft);
            int wsId = ws > 0 ? add(tensors, n.name() + ".workspace", Shape.of((int) Math.min(ws, Integer.MAX_VALUE)),
                    ft, TensorKind.WORKSPACE, -1) : -1;
            fwdStep[n.index()] = steps.size();
            steps.add(step(steps.size(), Phase.FORWARD, n.index(), n.name(), reads, writes, wsId, n.flops(), tensors));
        }
        if (!cachedCasts.isEmpty() && !steps.isEmpty()) {
            // the autocast cache lets go of its casts when the forward pass (with the loss) ends
            Step last = steps.get(steps.size() - 1);
            Set<Integer> reads = new LinkedHashSet<>();
            for (int r : last.reads()) reads.add(r);
            reads.addAll(cachedCasts);
            Set<Integer> writes = new LinkedHashSet<>();
            for (int w : last.writes()) writes.add(w);
            steps.set(last.index(), step(last.index(), last.phase(), last.node(), last.label(), reads, writes,
                    last.workspace(), last.flops(), tensors));
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
            boolean[] inGrad = new boolean[n.inputs().length];
            for (int k = 0; k < inGrad.length; k++)
                inGrad[k] = n.op().differentiable(k) && requiresGrad[n.inputs()[k]] && reachesLoss[n.inputs()[k]];
            boolean weightGrad = n.params().length > 0 && g.value(n.params()[0]).kind() == ValueKind.PARAM
                    && requiresGrad[n.params()[0]];
            BackwardNeeds needs = savedFor(n.op(), fw.backwardNeeds(n.op()), inGrad, weightGrad);
            int[] ci = castIn[i], cp = castParam[i];
            for (int k : needs.inputs()) reads.add(ci != null && ci[k] >= 0 ? ci[k] : tensorOfValue[n.inputs()[k]]);
            for (int k : needs.outputs()) reads.add(tensorOfValue[n.outputs()[k]]);
            long dequant = 0, lowGrads = 0;
            if (needs.params()) for (int j = 0; j < n.params().length; j++) {
                int p = n.params()[j];
                // a matmul's backward keeps the low-type copy of its weight, not of its bias
                if (cp != null && cp[j] >= 0) {
                    if (j == 0) reads.add(cp[j]);
                } else reads.add(tensorOfValue[p]);
                if (nf4[p] && anyTrue(inGrad)) {
                    reads.add(tensorOfValue[p] + 1);
                    dequant += g.value(p).shape().numel() * compute.bytes;
                }
            }
            if (needs.aux()) {
                Set<Integer> aux = savedAux(n.op(), n.aux().length, inGrad, weightGrad);
                for (int k = 0; k < n.aux().length; k++) if (aux.contains(k)) reads.add(tensorOfValue[n.aux()[k]]);
                if (probsCast[i] >= 0 && aux.contains(0)) reads.add(probsCast[i]);
            }
            Set<Integer> writes = new LinkedHashSet<>();
            // gradients this step creates: a value that is several of its inputs (Mul(x, x)) gets one, written
            // then accumulated within the step, never read before
            Set<Integer> created = new HashSet<>();
            for (int k = 0; k < n.inputs().length; k++) {
                int in = n.inputs()[k];
                if (!n.op().differentiable(k) || !requiresGrad[in] || !reachesLoss[in]) continue;
                int storage = g.storageOf(in);
                int gid = gradOfValue[storage];
                // under autocast the gradient of an operand cast down is made in the low type, then cast up
                if (ci != null && ci[k] >= 0) lowGrads += g.value(in).shape().numel() * low.bytes;
                // a loss makes its input's gradient in fp32 while its own temporary lives, and the low-type one
                // after that is freed: the step's high point is the fp32 one in place of the low-type one
                if (low != null && Autocast.fp32(n.op()) && vt[in] == low)
                    lowGrads += g.value(in).shape().numel() * (DType.FP32.bytes - low.bytes);
                if (gid < 0) {
                    Value v = g.value(storage);
                    gid = add(tensors, "grad(" + v.name() + ")", v.shape(), vt[storage],
                            TensorKind.ACTIVATION_GRAD, storage);
                    gradOfValue[storage] = gid;
                    created.add(gid);
                } else if (!created.contains(gid)) reads.add(gid); // accumulate into an existing gradient
                writes.add(gid);
            }
            long newWeightGrads = 0, lowWeightGrads = 0, reusedGrads = 0;
            for (int j = 0; j < n.params().length; j++) {
                int p = n.params()[j];
                Value v = g.value(p);
                if (v.kind() != ValueKind.PARAM || !requiresGrad[p]) continue;
                newWeightGrads += v.shape().numel() * v.dtype().bytes;
                if (cp != null && cp[j] >= 0) lowWeightGrads += v.shape().numel() * low.bytes;
                int gid = gradOfValue[p];
                if (gid < 0) {
                    gid = add(tensors, "grad(" + v.name() + ")", v.shape(), v.dtype(), TensorKind.PARAM_GRAD, p);
                    gradOfValue[p] = gid;
                    created.add(gid);
                } else if (!created.contains(gid)) {
                    reads.add(gid); // tied or reused parameter
                    reusedGrads += v.shape().numel() * v.dtype().bytes;
                }
                writes.add(gid);
            }
            // accumulation into existing weight gradients: autograd makes each new one, adds it in and frees it;
            // within one pass (a reused parameter) PyTorch adds out of place: the new one and the new sum (measured:
            // the ONNX LSTM of tools/pytorch/zoo.py, R's gradient at every step)
            long accumulate = setup.microBatches() > 1 ? newWeightGrads : 0;
            if (fw.reusedGradsOutOfPlace()) accumulate = Math.max(accumulate, 2 * reusedGrads);
            long own = fw.backwardWorkspaceElements(n.op(), n.inShapes(), n.outShapes(),
                    n.inputs().length > 0 && channelsLast[n.inputs()[0]]) * opType(n, low, ft).bytes;
            // oneDNN's blocked weight gradient of a low-type convolution is the low-type gradient that is cast up
            // (measured: ResNet-18 under autocast); a matmul's is a buffer of its own
            long scratch = fw.onednnConvolution() && n.op() instanceof Conv2d ? Math.max(own, lowWeightGrads)
                    : own + lowWeightGrads;
            long ws = elements(scratch + dequant + accumulate + lowGrads, ft);
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
        long previousNumel = 0;
        for (Value v : g.values()) {
            if (v.kind() != ValueKind.PARAM || gradOfValue[v.id()] < 0) continue;
            paramGrads.add(gradOfValue[v.id()]);
            // foreach: the temporaries of all parameters at once, while the first update runs
            // bitsandbytes' 8-bit update is one fused kernel: no temporaries
            boolean eightBit = setup.optimizerStates() == OptimizerStates.BLOCKWISE_8BIT;
            // single-tensor Adam: the previous parameter's denominator lives until this one's is made (the loop
            // variable is rebound only then), beside this update's two temporaries (measured: tiny-llama)
            long tmp = eightBit ? 0 : foreach && paramGrads.size() == 1 ? optimizer.temporariesPerParam * updated
                    : single && optimizer.temporariesPerParam > 0
                    ? optimizer.temporariesPerParam * v.shape().numel() + previousNumel : 0;
            previousNumel = v.shape().numel();
            int tmpId = tmp == 0 ? -1 : add(tensors, (foreach ? "foreach" : v.name()) + ".optimizer_temporaries",
                    Shape.of(toInt(tmp)), v.dtype(), TensorKind.WORKSPACE, -1);
            Set<Integer> reads = new LinkedHashSet<>();
            Set<Integer> writes = new LinkedHashSet<>();
            reads.add(gradOfValue[v.id()]);
            reads.add(tensorOfValue[v.id()]);
            writes.add(tensorOfValue[v.id()]);
            boolean quantized = setup.optimizerStates().quantizes(v.shape().numel());
            for (int s = 0; s < optimizer.statesPerParam; s++) {
                String state = v.name() + "." + optimizer.stateName(s);
                int sid = add(tensors, state, v.shape(), quantized ? DType.UINT8 : v.dtype(),
                        TensorKind.OPTIMIZER_STATE, v.id());
                reads.add(sid);
                writes.add(sid);
                if (!quantized) continue;
                int absmax = add(tensors, state + ".absmax", Shape.of(toInt(
                        OptimizerStates.blocks(v.shape().numel(), OptimizerStates.BLOCK))), DType.FP32,
                        TensorKind.OPTIMIZER_STATE, v.id());
                reads.add(absmax);
                writes.add(absmax);
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
        return new Schedule(g, optimizer, fw, setup, tensors, steps, tensorOfValue, gradOfValue, fwdStep, bwdStep,
                tensorOfValue[lossValue]);
    }

    /**
     * What a backward step saves given the gradients it must make, as PyTorch's generated autograd code saves an
     * operand only for the gradient formulas that use it (measured on 1.13: a Linear with a frozen weight keeps
     * only its weight, a matmul or product whose operand b wants no gradient does not keep operand a); convolution
     * and normalisation keep everything either way.
     */
    static BackwardNeeds savedFor(Op op, BackwardNeeds n, boolean[] inGrad, boolean weightGrad) {
        Set<Integer> in = new HashSet<>(n.inputs());
        if (op instanceof Linear) {
            if (!weightGrad) in.remove(0);
            // the weight serves only the input's gradient
            if (!inGrad[0]) return new BackwardNeeds(Set.copyOf(in), n.outputs(), false, n.aux());
        } else if ((op instanceof MatMul || op instanceof Mul) && inGrad.length == 2) {
            if (!inGrad[1]) in.remove(0);
            if (!inGrad[0]) in.remove(1);
        } else if (op instanceof RMSNorm) {
            // pow, mean, rsqrt and x * rstd keep theirs only for the input's gradient; the weight serves only it
            if (!inGrad[0]) return new BackwardNeeds(Set.of(), n.outputs(), false, n.aux());
        } else if (op instanceof Attention a && a.form() == Attention.Form.EAGER && !a.grouped()) {
            // QK^T keeps q for k's gradient and k for q's; PV keeps v for the probabilities' gradient
            if (!inGrad[1]) in.remove(0);
            if (!inGrad[0]) in.remove(1);
            if (!inGrad[0] && !inGrad[1]) in.remove(2);
        } else if (op instanceof Attention a && a.form() == Attention.Form.EAGER) {
            if (!inGrad[1]) in.remove(0);
        } else return n;
        return in.equals(n.inputs()) ? n : new BackwardNeeds(Set.copyOf(in), n.outputs(), n.params(), n.aux());
    }

    /**
     * Which of an op's aux tensors its backward keeps, by index, given the gradients it must make (measured on
     * 1.13): RMSNorm's normalised x is the weight product's operand, kept only for the weight's gradient, and its
     * rstd and x^2 only for the input's; eager grouped attention keeps the repeated key for q's gradient and the
     * repeated value for the probabilities'.
     */
    static Set<Integer> savedAux(Op op, int count, boolean[] inGrad, boolean weightGrad) {
        Set<Integer> all = new HashSet<>();
        for (int k = 0; k < count; k++) all.add(k);
        if (op instanceof RMSNorm) {
            if (!weightGrad) all.remove(1);
            if (!inGrad[0]) all.retainAll(Set.of(1));
        } else if (op instanceof Attention a && a.form() == Attention.Form.EAGER && a.grouped()) {
            if (!inGrad[0]) all.remove(1);
            if (!inGrad[0] && !inGrad[1]) all.remove(2);
        }
        return all;
    }

    private static boolean[] frozenParams(Graph g, FrozenParams rules, String src) {
        boolean[] frozen = new boolean[g.values().size()];
        if (rules.isEmpty()) return frozen;
        int params = 0, count = 0;
        for (Value v : g.values()) {
            if (v.kind() != ValueKind.PARAM) continue;
            params++;
            if (rules.isFrozen(v.name())) {
                frozen[v.id()] = true;
                count++;
            }
        }
        for (String p : rules.frozen()) {
            boolean any = false;
            for (Value v : g.values()) any |= v.kind() == ValueKind.PARAM && FrozenParams.matches(p, v.name());
            if (!any) throw new GraphException(src, "frozen parameters", "'" + p + "' names no parameter of "
                    + g.model().name() + " (its parameters are named like " + exampleParams(g) + ")");
        }
        if (count == params) throw new GraphException(src, "frozen parameters", "every parameter of "
                + g.model().name() + " is frozen: nothing would be trained");
        return frozen;
    }

    private static String exampleParams(Graph g) {
        List<String> names = new ArrayList<>();
        for (Value v : g.values()) if (v.kind() == ValueKind.PARAM && names.size() < 4) names.add(v.name());
        return String.join(", ", names);
    }

    /**
     * The parameters stored as NF4: frozen Linear weights, except tied ones and the last Linear layer (the output
     * projection), which transformers' 4-bit loading leaves in full precision.
     */
    private static boolean[] nf4Params(Graph g, boolean[] frozen, BaseWeights storage) {
        boolean[] nf4 = new boolean[g.values().size()];
        if (storage != BaseWeights.NF4) return nf4;
        int[] uses = new int[nf4.length];
        int lastLinear = -1;
        for (Node n : g.nodes()) {
            for (int p : n.params()) uses[p]++;
            if (n.op() instanceof Linear) lastLinear = n.index();
        }
        for (Node n : g.nodes()) {
            if (!(n.op() instanceof Linear) || n.index() == lastLinear) continue;
            int w = n.params()[0];
            if (frozen[w] && uses[w] == 1) nf4[w] = true;
        }
        return nf4;
    }

    /** The type a low-precision op computes in under autocast, else the float type. */
    private static DType opType(Node n, DType low, DType ft) {
        return low != null && Autocast.low(n.op()) ? low : ft;
    }

    private static boolean anyTrue(boolean[] a) {
        for (boolean b : a) if (b) return true;
        return false;
    }

    /** Elements of the float type that hold at least this many bytes. */
    private static long elements(long bytes, DType ft) {
        return (bytes + ft.bytes - 1) / ft.bytes;
    }

    private static int toInt(long n) {
        return (int) Math.min(n, Integer.MAX_VALUE);
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

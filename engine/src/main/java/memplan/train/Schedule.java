package memplan.train;

import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.graph.ValueKind;
import memplan.ir.TensorRole;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One training iteration as a linear list of steps over a dense table of tensors: the single form that
 * liveness, planners, the simulator and the executor consume.
 */
public final class Schedule {
    private final Graph graph;
    private final Optimizer optimizer;
    private final FrameworkProfile framework;
    private final TrainingSetup setup;
    private final List<TensorInfo> tensors;
    private final List<Step> steps;
    private final int[] tensorOfValue;
    private final int[] gradOfValue;
    private final int[] forwardStepOfNode;
    private final int[] backwardStepOfNode;
    private final int lossTensor;
    private final long[][] heldByRole;
    private final InFlightCopies inFlight;

    Schedule(Graph graph, Optimizer optimizer, FrameworkProfile framework, TrainingSetup setup,
             List<TensorInfo> tensors,
            List<Step> steps, int[] tensorOfValue,
             int[] gradOfValue, int[] forwardStepOfNode, int[] backwardStepOfNode, int lossTensor) {
        this.graph = graph;
        this.optimizer = optimizer;
        this.framework = framework;
        this.setup = setup;
        this.tensors = List.copyOf(tensors);
        this.steps = List.copyOf(steps);
        this.tensorOfValue = tensorOfValue;
        this.gradOfValue = gradOfValue;
        this.forwardStepOfNode = forwardStepOfNode;
        this.backwardStepOfNode = backwardStepOfNode;
        this.lossTensor = lossTensor;
        this.heldByRole = null;
        this.inFlight = null;
    }

    private Schedule(Schedule base, List<TensorInfo> tensors, List<Step> steps, long[][] heldByRole,
                     InFlightCopies inFlight) {
        this.graph = base.graph;
        this.optimizer = base.optimizer;
        this.framework = base.framework;
        this.setup = base.setup;
        this.tensors = List.copyOf(tensors);
        this.steps = List.copyOf(steps);
        this.tensorOfValue = base.tensorOfValue;
        this.gradOfValue = base.gradOfValue;
        this.forwardStepOfNode = base.forwardStepOfNode;
        this.backwardStepOfNode = base.backwardStepOfNode;
        this.lossTensor = base.lossTensor;
        this.heldByRole = heldByRole;
        this.inFlight = inFlight;
    }

    /**
     * The same iteration as one device of a larger job holds it: each tensor with the bytes it has there (0 for the
     * tensors another device holds), step costs as that device pays them, and the bytes the device holds during each
     * step besides the tensors, per role ({@code heldByRole[role][step]}: a parallel engine's buffers and model
     * states, which planners cannot change but which count against their budget). Ids and steps keep their order,
     * so a plan of this schedule is a plan of this one's base by the same ids. {@code inFlight} (or null): the copies
     * other micro-batches of a pipeline stage hold, which follow the plan's decisions.
     */
    public Schedule onDevice(long[] tensorBytes, List<Step> costs, long[][] held, InFlightCopies inFlight) {
        if (tensorBytes.length != tensors.size() || costs.size() != steps.size() || held.length != TensorRole.values()
                .length) throw new IllegalArgumentException("a device's share of a schedule needs one size per tensor,"
                + " one step per step and one row per role");
        List<TensorInfo> ts = new ArrayList<>(tensors.size());
        for (TensorInfo t : tensors) ts.add(new TensorInfo(t.id(), t.name(), t.shape(), t.dtype(), t.kind(), t.value(),
                tensorBytes[t.id()]));
        long[][] h = new long[held.length][];
        for (int r = 0; r < held.length; r++) {
            if (held[r].length != steps.size())
                throw new IllegalArgumentException("held bytes need one entry per step");
            h[r] = held[r].clone();
        }
        if (inFlight != null && inFlight.bytes().length != tensors.size())
            throw new IllegalArgumentException("in-flight copies need one size per tensor");
        return new Schedule(this, ts, costs, h, inFlight);
    }

    /** Bytes the device holds during a step besides the schedule's tensors (0 for a whole single-device job). */
    public long heldBytes(TensorRole role, int step) {
        return heldByRole == null || step < 0 || step >= steps.size() ? 0 : heldByRole[role.ordinal()][step];
    }

    /** Bytes the device holds during a step besides the schedule's tensors, all roles. */
    public long heldBytes(int step) {
        if (heldByRole == null || step < 0 || step >= steps.size()) return 0;
        long b = 0;
        for (long[] r : heldByRole) b += r[step];
        return b;
    }

    /** The copies other micro-batches in flight hold of the tensors, or null (no pipeline). */
    public InFlightCopies inFlight() {
        return inFlight;
    }

    /** Whether the schedule is one device's share of a larger job with bytes held besides its tensors. */
    public boolean holdsBytes() {
        return heldByRole != null;
    }

    public Graph graph() { return graph; }
    public Optimizer optimizer() { return optimizer; }
    /** The framework whose memory behaviour the schedule follows. */
    public FrameworkProfile framework() { return framework; }
    /** Frozen parameters, gradient accumulation, state and weight storage, mixed precision. */
    public TrainingSetup setup() { return setup; }
    /** Micro-batches whose forward and backward passes run before the one optimizer step (1: no accumulation). */
    public int microBatches() { return setup.microBatches(); }
    public List<TensorInfo> tensors() { return tensors; }
    public List<Step> steps() { return steps; }
    public TensorInfo tensor(int id) { return tensors.get(id); }
    public Step step(int i) { return steps.get(i); }
    public int tensorCount() { return tensors.size(); }
    public int stepCount() { return steps.size(); }
    /** The loss scalar's tensor id. */
    public int lossTensor() { return lossTensor; }

    /** Tensor id storing a forward value (views map to the tensor they share), or -1. */
    public int tensorOfValue(int valueId) {
        return tensorOfValue[valueId];
    }

    /** Tensor id of the gradient of a forward value, or -1 if it has none. */
    public int gradOfValue(int valueId) {
        return gradOfValue[valueId];
    }

    /** Index of the forward step of a node, or -1 (views and inputs have none). */
    public int forwardStep(int node) {
        return forwardStepOfNode[node];
    }

    /** Index of the backward step of a node, or -1. */
    public int backwardStep(int node) {
        return backwardStepOfNode[node];
    }

    /**
     * Whether a tensor outlives the iteration: parameters, buffers, optimizer state, and weight gradients when
     * the framework's zero_grad keeps them ({@code set_to_none=False}) or an earlier micro-batch made them.
     */
    public boolean persistent(TensorInfo t) {
        return t.kind().persistent() || t.kind() == TensorKind.PARAM_GRAD
                && (framework.gradsPersist() || setup.microBatches() > 1);
    }

    /** Elements of the parameters that get a gradient and an update (all but the frozen ones). */
    public long trainableParameters() {
        long n = 0;
        for (var v : graph.values())
            if (v.kind() == ValueKind.PARAM && gradOfValue[v.id()] >= 0) n += v.shape().numel();
        return n;
    }

    public long totalFlops() {
        long f = 0;
        for (Step s : steps) f += s.flops();
        return f;
    }

    @Override
    public String toString() {
        return "Schedule[" + graph.model().name() + ", batch " + graph.batch() + ", " + tensors.size() + " tensors, "
                + steps.size() + " steps, tensorOfValue="
                        + Arrays.toString(Arrays.copyOf(tensorOfValue, Math.min(8, tensorOfValue.length))) + "...]";
    }
}

package memplan.app.ui.parallel;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.task.TaskRunner;
import memplan.graph.Graph;
import memplan.parallel.CommBuffer;
import memplan.parallel.Layout;
import memplan.parallel.PipelineSchedule;
import memplan.parallel.RankMemory;
import memplan.parallel.RankPlans;
import memplan.parallel.ShardMode;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The layout panel's state: world size, tensor and pipeline degrees (data parallelism fills the rest), shard mode,
 * offload, micro-batches and pipeline schedule over the session's model, whose batch is the global batch. A bad
 * combination is said at once in {@link #problemProperty}; a good one is computed in the background (the micro-batch's
 * schedule, every distinct rank with the session's plan applied when asked) into rows and per-rank timelines.
 */
public final class LayoutViewModel {
    /** One distinct rank as the table shows it. */
    public record RankRow(int rank, int stage, long unplannedBytes, long plannedBytes, long modelStateBytes,
                          String buffers, boolean highest) {
    }

    /** A computed layout: its per-rank plans (the plan of each rank, or none) and the global batch. */
    public record Result(Layout layout, RankPlans ranks, int globalBatch) {
    }

    private final SessionViewModel session;
    private final IntegerProperty worldSize = new SimpleIntegerProperty(4);
    private final IntegerProperty tp = new SimpleIntegerProperty(1);
    private final IntegerProperty pp = new SimpleIntegerProperty(1);
    private final ObjectProperty<ShardMode> shard = new SimpleObjectProperty<>(ShardMode.NONE);
    private final BooleanProperty offloadOptimizer = new SimpleBooleanProperty(false);
    private final BooleanProperty offloadParams = new SimpleBooleanProperty(false);
    private final IntegerProperty microBatches = new SimpleIntegerProperty(1);
    private final ObjectProperty<PipelineSchedule> pipeline = new SimpleObjectProperty<>(PipelineSchedule.ONE_F_ONE_B);
    private final BooleanProperty withPlan = new SimpleBooleanProperty(false);
    private final StringProperty problem = new SimpleStringProperty("");
    private final StringProperty summary = new SimpleStringProperty("");
    private final ObservableList<RankRow> rows = FXCollections.observableArrayList();
    private final ObjectProperty<Result> result = new SimpleObjectProperty<>();
    private final BooleanProperty computing = new SimpleBooleanProperty(false);
    private TaskRunner.Handle handle;

    public LayoutViewModel(SessionViewModel session) {
        this.session = session;
        for (var p : List.of(worldSize, tp, pp, microBatches)) p.addListener(o -> check());
        for (var p : List.of(offloadOptimizer, offloadParams, withPlan)) p.addListener(o -> check());
        shard.addListener(o -> check());
        pipeline.addListener(o -> check());
        session.analysisProperty().addListener(o -> {
            result.set(null);
            rows.clear();
            summary.set("");
            check();
        });
        check();
    }

    public IntegerProperty worldSizeProperty() { return worldSize; }
    public IntegerProperty tpProperty() { return tp; }
    public IntegerProperty ppProperty() { return pp; }
    public ObjectProperty<ShardMode> shardProperty() { return shard; }
    public BooleanProperty offloadOptimizerProperty() { return offloadOptimizer; }
    public BooleanProperty offloadParamsProperty() { return offloadParams; }
    public IntegerProperty microBatchesProperty() { return microBatches; }
    public ObjectProperty<PipelineSchedule> pipelineProperty() { return pipeline; }
    /** Apply the session's current plan inside every rank (by tensor id; the ranks share the model's tensors). */
    public BooleanProperty withPlanProperty() { return withPlan; }
    /** Why the layout cannot be computed, or empty. */
    public StringProperty problemProperty() { return problem; }
    public StringProperty summaryProperty() { return summary; }
    public ObservableList<RankRow> rows() { return rows; }
    public ObjectProperty<Result> resultProperty() { return result; }
    public BooleanProperty computingProperty() { return computing; }

    /** The layout of the controls, or null with {@link #problemProperty} saying why. */
    public Layout layout() {
        check();
        return problem.get().isEmpty() ? built : null;
    }

    private Layout built;

    private void check() {
        built = null;
        try {
            built = build();
            problem.set("");
        } catch (IllegalArgumentException e) {
            problem.set(e.getMessage());
        }
    }

    private Layout build() {
        int w = worldSize.get(), t = tp.get(), p = pp.get();
        if (w < 1) throw new IllegalArgumentException("World size must be at least 1.");
        if (t < 1 || p < 1) throw new IllegalArgumentException("Tensor and pipeline degrees must be at least 1.");
        if (w % (t * p) != 0) throw new IllegalArgumentException("World size " + w + " is not a multiple of tensor "
                + "x pipeline degrees (" + t + " x " + p + " = " + t * p + ").");
        int dp = w / (t * p);
        if (shard.get() != ShardMode.NONE && dp == 1) throw new IllegalArgumentException("Sharding ("
                + shard.get().label + ") needs more than one data-parallel rank: world size / (tensor x pipeline) "
                + "is 1.");
        if (offloadOptimizer.get() && shard.get() == ShardMode.NONE) throw new IllegalArgumentException(
                "Optimizer offload needs a shard mode (zero1 and up): DDP keeps the optimizer on the device.");
        if (offloadParams.get() && !shard.get().shardsParameters) throw new IllegalArgumentException(
                "Parameter offload needs a mode that shards parameters (zero3, fsdp-full, fsdp-hybrid).");
        if (microBatches.get() < 1) throw new IllegalArgumentException("Micro-batches must be at least 1.");
        Layout l = Layout.parse(w, "tp=" + t + ",pp=" + p, shard.get().label).withMicroBatches(microBatches.get())
                .withPipeline(pipeline.get()).withOffload(offloadOptimizer.get(), offloadParams.get());
        if (session.analysis() != null) {
            int batch = session.analysis().schedule().graph().batch();
            if (batch % ((long) l.dp() * l.microBatches()) != 0) throw new IllegalArgumentException("The batch of "
                    + batch + " (the global batch) does not split into " + l.dp() + " data-parallel ranks x "
                    + l.microBatches() + " micro-batches.");
        }
        return l;
    }

    /** Computes the layout in the background, replacing any computation still running. */
    public void compute() {
        Layout l = layout();
        if (l == null || session.analysis() == null) return;
        Schedule whole = session.analysis().schedule();
        Evaluation ev = session.evaluation();
        Plan plan = withPlan.get() && ev != null ? ev.plan() : null;
        DeviceModel device = session.deviceProperty().get();
        if (handle != null && !handle.isDone()) handle.cancel();
        computing.set(true);
        handle = session.runner().run("Per-rank memory of " + l.describe(), pr -> {
            pr.message("the micro-batch's schedule");
            pr.update(0, 3);
            Schedule s = atMicroBatch(whole, l.microBatchSize(whole.graph().batch()));
            pr.checkCancelled();
            pr.message("every rank");
            pr.update(1, 3);
            // the plan's decisions by tensor id: the micro-batch has the model's tensors, at its own sizes
            Plan p = plan == null || plan.size() != s.tensorCount() ? Plan.baseline(s)
                    : RankPlans.rebind(plan, s, device);
            RankPlans ranks = RankPlans.apply(s, l, p, device);
            pr.update(3, 3);
            return new Result(l, ranks, whole.graph().batch());
        }, r -> {
            computing.set(false);
            show(r, device);
        }, e -> {
            computing.set(false);
            problem.set(e.getMessage() == null ? e.toString() : e.getMessage());
        }, () -> computing.set(false));
    }

    /** The session's schedule at another batch (the same model, data type, optimizer, framework and setup). */
    static Schedule atMicroBatch(Schedule whole, int micro) {
        if (micro == whole.graph().batch()) return whole;
        Map<String, Integer> dims = new LinkedHashMap<>(whole.graph().symbols());
        dims.remove("N");
        Graph g = Graph.instantiate(whole.graph().model(), micro, whole.graph().floatType(), dims);
        return TrainingGraph.derive(g, whole.optimizer(), whole.framework(), whole.setup());
    }

    private void show(Result r, DeviceModel device) {
        Layout l = r.layout();
        RankPlans.RankPlan h = r.ranks().highest();
        List<RankRow> out = new ArrayList<>();
        for (RankPlans.RankPlan x : r.ranks().ranks()) {
            RankMemory m = x.before();
            String bufs = m.buffers().stream().map(LayoutViewModel::buffer).collect(Collectors.joining("; "));
            if (m.offloadedBytes() > 0) bufs += (bufs.isEmpty() ? "" : "; ") + "host " + Fmt.bytes(m.offloadedBytes());
            out.add(new RankRow(x.globalRank(l), m.stage(), m.peakBytes(), x.peakBytes(), m.modelStateBytes(),
                    bufs.isEmpty() ? "-" : bufs, x == h));
        }
        rows.setAll(out);
        long cap = device.capacityBytes();
        summary.set("Highest rank " + h.globalRank(l) + " (stage " + h.before().stage() + "): peak "
                + Fmt.bytes(h.peakBytes()) + (cap > 0 ? String.format(Locale.ROOT, " (%.0f%% of %s)",
                100.0 * h.peakBytes() / cap, Fmt.bytes(cap)) : "") + ". " + l.describe() + ", micro-batch "
                + l.microBatchSize(r.globalBatch()) + ".");
        result.set(r);
    }

    private static String buffer(CommBuffer b) {
        return b.name() + " " + Fmt.bytes(b.bytes());
    }
}

package memplan.exec;

import memplan.backend.Backend;
import memplan.backend.Bindings;
import memplan.backend.DeviceOutOfMemoryException;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.ir.Remedy;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.graph.ValueKind;
import memplan.ir.BackwardNeeds;
import memplan.ir.TensorRole;
import memplan.lower.Allocator;
import memplan.lower.Buffer;
import memplan.lower.ExecutionSchedule;
import memplan.lower.Instr;
import memplan.lower.InstrKind;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.TensorUses;
import memplan.sim.DeviceModel;
import memplan.sim.EventKind;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.sim.Timeline;
import memplan.sim.TimelineEvent;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;
import memplan.units.ByteSize;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * Runs real training iterations of a plan on a backend: the same lowered schedule and buffer offsets the simulator
 * predicts from, so the measured peak of live bytes must equal the predicted one. Each buffer is allocated when its
 * segment starts and freed when it ends (a swapped-out buffer only after its copy has finished), and every
 * allocation is checked against the live regions, so an allocator or plan error shows up as an error, not as
 * silently wrong numbers.
 */
public final class Executor {
    private final Plan plan;
    private final DeviceModel device;
    private final Schedule s;
    private final Graph g;
    private final TensorUses uses;

    public Executor(Plan plan, DeviceModel device) {
        this.plan = plan;
        this.device = device;
        this.s = plan.schedule();
        this.g = s.graph();
        this.uses = TensorUses.of(s);
    }

    /**
     * Kernels index tensors with ints and need at least one element; a profile and a plan of such a model still
     * work, a run cannot.
     */
    public static void checkRunnable(Graph g) {
        for (Value v : g.values()) {
            long n = v.shape().numel();
            String where = "cannot run " + g.model().name() + ": tensor '" + v.name() + "' of shape " + v.shape();
            if (n == 0) throw new IllegalArgumentException(where + " has a 0-sized dimension; training needs tensors"
                    + " with at least one element (profile, plan and simulate accept it)");
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException(where + " has " + n
                    + " elements, more than a backend kernel can index (2^31 - 1)");
        }
    }

    public RunResult run(Backend backend, RunConfig cfg, ProgressListener listener, BooleanSupplier cancelled) {
        if (g.floatType() != DType.FP32)
            throw new RunConfigException("training runs use fp32 tensors, not " + g.floatType().jsonName()
                    + " (fp16/bf16 storage of activations is the compress planner's lossy codec)", Remedy.FP32);
        checkRunnable(g);
        String unsupported = s.setup().notExecutable();
        if (unsupported != null)
            throw new RunConfigException("training runs compute in fp32 and cannot execute " + unsupported
                    + "; its memory and time are predicted (profile, plan, simulate, maxbatch) but not run", null);
        SimResult predicted = Simulator.simulate(plan, device);
        ExecutionSchedule es = predicted.execution();
        Allocator.Placement placement = Allocator.place(es);
        if (placement.arenaBytes() > backend.capacityBytes()) throw outOfMemory(es, placement, backend.capacityBytes());
        try {
            backend.allocateArena(placement.arenaBytes());
        } catch (DeviceOutOfMemoryException e) {
            throw new DeviceOutOfMemoryException("cannot allocate the arena of "
                    + ByteSize.format(placement.arenaBytes())
                    + " for plan '" + plan.planner() + "': " + e.getMessage(),
                            placement.arenaBytes(), e.capacityBytes());
        }
        long[] offset = new long[placement.buffers().size()];
        for (Buffer b : placement.buffers()) offset[b.id()] = b.offset();
        Backend.HostBuffer[] host = new Backend.HostBuffer[offset.length];
        for (int b = 0; b < offset.length; b++) if (es.hostBytes()[b] > 0)
            host[b] = backend.allocateHost(es.hostBytes()[b]);

        List<Buffer> buffers = es.buffers();
        int n = es.size();
        List<List<int[]>> startsAt = new ArrayList<>(), endsAt = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            startsAt.add(new ArrayList<>());
            endsAt.add(new ArrayList<>());
        }
        for (Buffer b : buffers)
            for (int k = 0; k < b.segStart().length; k++) {
                startsAt.get(b.segStart()[k]).add(new int[]{b.id(), k});
                endsAt.get(b.segEnd()[k]).add(new int[]{b.id(), k});
            }

        initialise(backend, es, offset, cfg.seed());
        SyntheticData data = new SyntheticData(g, cfg.seed());
        List<IterationResult> results = new ArrayList<>();
        Timeline lastTimeline = null;
        boolean wasCancelled = false;
        int micro = s.microBatches();
        int split = n;
        for (Instr in : es.instrs())
            if (in.step() >= 0 && s.step(in.step()).phase() == Phase.OPTIMIZER) {
                split = in.pos();
                break;
            }
        for (int it = 0; it < cfg.iterations(); it++) {
            if (cancelled.getAsBoolean()) {
                wasCancelled = true;
                break;
            }
            long t0 = System.nanoTime();
            Pass pass = new Pass(backend, es, offset, host, cfg, it, startsAt, endsAt, t0);
            // gradient accumulation: the instructions before the optimizer step once per micro-batch (each on its
            // own data), the rest once
            for (int mb = 0; mb < micro && !wasCancelled; mb++) {
                int[] dataValues = data.dataValues();
                for (int k = 0; k < dataValues.length; k++) {
                    float[] w = data.words(it * micro + mb, k);
                    backend.write(offset[bufferOfPersistent(es, s.tensorOfValue(dataValues[k]))], w, 0, w.length);
                }
                pass.startMicroBatch(mb, split);
                for (Instr in : es.instrs()) {
                    if (in.pos() >= split && mb < micro - 1) break;
                    if ((in.pos() & 63) == 0 && cancelled.getAsBoolean()) {
                        wasCancelled = true;
                        break;
                    }
                    pass.execute(in);
                    if ((in.pos() & 255) == 0)
                        listener.progress((it + (double) in.pos() / n) / cfg.iterations(),
                                "iteration " + (it + 1) + ": " + describe(in));
                }
            }
            if (wasCancelled) break;
            backend.synchronize();
            double secs = (System.nanoTime() - t0) / 1e9;
            lastTimeline = pass.timeline();
            IterationResult r = new IterationResult(it + 1, pass.loss, pass.peak, predicted.peakBytes(), secs,
                    predicted.iterationSeconds(), backend.deviceMemoryUsed());
            results.add(r);
            listener.iterationDone(r);
            listener.progress((it + 1.0) / cfg.iterations(), "iteration " + (it + 1) + " done");
        }
        List<float[]> weights = parameters(backend, es, offset);
        String sha = sha256(weights);
        return new RunResult(backend.name(), backend.deviceDescription(), List.copyOf(results),
                placement.arenaBytes(), sha,
                plan.lossy(), wasCancelled, lastTimeline, predicted, cfg.keepWeights() ? weights : List.of());
    }

    private String describe(Instr in) {
        return in.step() >= 0 ? s.step(in.step()).label() : in.kind().name().toLowerCase() + " "
                + s.tensor(in.tensor()).name();
    }

    /** Parameters, buffers and optimizer state get their initial values; the data batch is written per iteration. */
    private void initialise(Backend backend, ExecutionSchedule es, long[] offset, long seed) {
        for (TensorInfo t : s.tensors()) {
            if (!t.kind().persistent()) continue;
            long off = offset[bufferOfPersistent(es, t.id())];
            if (t.kind() == TensorKind.OPTIMIZER_STATE) {
                backend.zero(off, t.bytes());
                continue;
            }
            float[] w = WeightInit.initial(g, g.value(t.value()), seed);
            backend.write(off, w, 0, w.length);
        }
    }

    private static int bufferOfPersistent(ExecutionSchedule es, int tensor) {
        for (Buffer b : es.buffers()) if (b.tensor() == tensor && b.start() == 0) return b.id();
        throw new IllegalStateException("no buffer for persistent tensor " + tensor);
    }

    /** The final trainable parameters, in value order. */
    private List<float[]> parameters(Backend backend, ExecutionSchedule es, long[] offset) {
        List<float[]> out = new ArrayList<>();
        for (Value v : g.values()) {
            if (v.kind() != ValueKind.PARAM) continue;
            float[] w = new float[(int) v.shape().numel()];
            backend.read(offset[bufferOfPersistent(es, s.tensorOfValue(v.id()))], w, 0, w.length);
            out.add(w);
        }
        return out;
    }

    /** SHA-256 over the parameters' raw bytes (little-endian), so two runs can be compared by one line. */
    private static String sha256(List<float[]> weights) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (float[] w : weights) {
                ByteBuffer bb = ByteBuffer.allocate(4 * w.length).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : w) bb.putInt(Float.floatToRawIntBits(f));
                md.update(bb.array());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private DeviceOutOfMemoryException outOfMemory(ExecutionSchedule es, Allocator.Placement p, long capacity) {
        long[] live = es.liveBytes();
        int first = -1;
        for (int i = 0; i < live.length; i++) if (live[i] > capacity) { first = i; break; }
        StringBuilder b = new StringBuilder();
        if (first < 0) {
            b.append("out of device memory: the plan's arena needs ").append(ByteSize.format(p.arenaBytes()))
                    .append(" (peak of live tensors ").append(ByteSize.format(p.peakLiveBytes()))
                            .append(" plus fragmentation) but the device has ")
                    .append(ByteSize.format(capacity));
        } else {
            Instr in = es.instrs().get(first);
            b.append("out of device memory at ").append(describe(in)).append(": ").append(ByteSize.format(live[first]))
                    .append(" would be live but the device has ").append(ByteSize.format(capacity))
                            .append("; the largest live tensors:");
            List<Buffer> at = new ArrayList<>();
            for (Buffer buf : es.buffers()) if (buf.liveAt(first)) at.add(buf);
            at.sort((x, y) -> Long.compare(y.bytes(), x.bytes()));
            for (int k = 0; k < Math.min(5, at.size()); k++)
                b.append(k == 0 ? " " : ", ").append(s.tensor(at.get(k).tensor()).name()).append(" ")
                        .append(ByteSize.format(at.get(k).bytes()));
            b.append(". A smaller batch, a tighter budget with a planner, or more device memory would fit.");
        }
        return new DeviceOutOfMemoryException(b.toString(), first < 0 ? p.arenaBytes() : live[first], capacity);
    }

    /** One iteration's walk over the instructions. */
    private final class Pass {
        final Backend backend;
        final ExecutionSchedule es;
        final long[] offset;
        final Backend.HostBuffer[] host;
        final RunConfig cfg;
        final int iteration;
        final List<List<int[]>> startsAt, endsAt;
        final long t0;
        final Backend.Event[] events;
        final TreeMap<Long, Long> liveRegions = new TreeMap<>();
        final long[] liveByRole = new long[TensorRole.values().length];
        final long[][] liveAt;
        final double[] startSeconds;
        final List<TimelineEvent> timeline = new ArrayList<>();
        long live, peak;
        float loss = Float.NaN;
        int microBatch;
        int split = Integer.MAX_VALUE;

        Pass(Backend backend, ExecutionSchedule es, long[] offset, Backend.HostBuffer[] host,
                RunConfig cfg, int iteration,
             List<List<int[]>> startsAt, List<List<int[]>> endsAt, long t0) {
            this.backend = backend;
            this.es = es;
            this.offset = offset;
            this.host = host;
            this.cfg = cfg;
            this.iteration = iteration;
            this.startsAt = startsAt;
            this.endsAt = endsAt;
            this.t0 = t0;
            this.events = new Backend.Event[es.size()];
            this.liveAt = new long[TensorRole.values().length][es.size()];
            this.startSeconds = new double[es.size()];
        }

        /** A later micro-batch re-runs the instructions before {@code split}; what outlives them stays allocated. */
        void startMicroBatch(int mb, int split) {
            this.microBatch = mb;
            this.split = split;
        }

        double now() {
            return (System.nanoTime() - t0) / 1e9;
        }

        void execute(Instr in) {
            int p = in.pos();
            startSeconds[p] = now();
            for (int[] seg : startsAt.get(p)) {
                Buffer b = es.buffers().get(seg[0]);
                if (microBatch > 0 && p < split && b.segEnd()[seg[1]] >= split) continue;
                allocate(b, p);
            }
            for (int w : in.waits()) {
                double before = now();
                backend.computeWaits(events[w]);
                double after = now();
                if (after - before > 1e-5)
                    timeline.add(new TimelineEvent(before, after, EventKind.STALL, false, p, in.step(),
                            in.tensor(), 0, "stall"));
            }
            double start = now();
            switch (in.kind()) {
                case COMPUTE -> compute(in);
                case RECOMPUTE -> {
                    Node node = g.nodes().get(in.node());
                    backend.forward(g, node, forwardBindings(node, in, s.step(in.step()).workspace()), true,
                            true, dropoutSeed(in.node()));
                }
                case ENCODE -> {
                    Decision.Compress c = (Decision.Compress) plan.decision(in.tensor());
                    backend.encode(c.codec(), offset[in.buffers()[1]], offset[in.buffers()[0]],
                            s.tensor(in.tensor()).shape().numel(),
                            c.density(), s.tensor(in.tensor()).name());
                }
                case DECODE -> {
                    Decision.Compress c = (Decision.Compress) plan.decision(in.tensor());
                    backend.decode(c.codec(), offset[in.buffers()[1]], offset[in.buffers()[0]],
                            s.tensor(in.tensor()).shape().numel(), c.density());
                }
                case SWAP_OUT -> events[p] = backend.copyToHost(offset[in.buffers()[0]],
                        host[in.buffers()[0]], 0, in.bytes());
                case SWAP_IN -> events[p] = backend.copyToDevice(host[in.buffers()[1]], 0,
                        offset[in.buffers()[0]], in.bytes());
                case RELEASE -> backend.hostWaits(events[in.waits()[0]]);
            }
            double end = now();
            EventKind kind = switch (in.kind()) {
                case COMPUTE -> EventKind.COMPUTE;
                case RECOMPUTE -> EventKind.RECOMPUTE;
                case ENCODE -> EventKind.ENCODE;
                case DECODE -> EventKind.DECODE;
                case SWAP_OUT -> EventKind.SWAP_OUT;
                case SWAP_IN -> EventKind.SWAP_IN;
                case RELEASE -> EventKind.FREE;
            };
            timeline.add(new TimelineEvent(start, end, kind, in.kind().copyStream, p, in.step(), in.tensor(),
                    in.bytes(), describe(in)));
            for (int r = 0; r < liveByRole.length; r++) liveAt[r][p] = liveByRole[r];
            for (int[] seg : endsAt.get(p)) free(es.buffers().get(seg[0]));
        }

        void allocate(Buffer b, int pos) {
            long off = offset[b.id()], end = off + b.bytes();
            var below = liveRegions.floorEntry(off);
            var above = liveRegions.ceilingEntry(off);
            if (below != null && below.getValue() > off || above != null && above.getKey() < end)
                throw new IllegalStateException("memory plan error: buffer of '" + s.tensor(b.tensor())
                        .name() + "' at offset " + off
                        + " overlaps a live buffer at instruction " + pos);
            if (b.bytes() > 0) liveRegions.put(off, end);
            live += b.bytes();
            liveByRole[b.role().ordinal()] += b.bytes();
            peak = Math.max(peak, live);
        }

        void free(Buffer b) {
            liveRegions.remove(offset[b.id()]);
            live -= b.bytes();
            liveByRole[b.role().ordinal()] -= b.bytes();
        }

        long dropoutSeed(int node) {
            return cfg.seed() * 1_000_003L + (long) iteration * s.microBatches() + microBatch;
        }

        void compute(Instr in) {
            Step st = s.step(in.step());
            if (st.phase() == Phase.OPTIMIZER) {
                optimizer(in, st);
                return;
            }
            Node node = g.nodes().get(st.node());
            if (st.phase() == Phase.FORWARD) {
                backend.forward(g, node, forwardBindings(node, in, st.workspace()), true, false,
                        dropoutSeed(node.index()));
                int lossT = s.lossTensor();
                if (in.bufferOf(lossT) >= 0) {
                    float[] l = new float[1];
                    backend.read(offset[in.bufferOf(lossT)], l, 0, 1);
                    loss = l[0];
                }
            } else {
                backend.backward(g, node, backwardBindings(node, in, st));
            }
        }

        long off(Instr in, int tensor) {
            int b = in.bufferOf(tensor);
            return b < 0 ? -1 : offset[b];
        }

        long[] offsets(Instr in, int[] values) {
            long[] o = new long[values.length];
            for (int k = 0; k < o.length; k++) o[k] = off(in, s.tensorOfValue(values[k]));
            return o;
        }

        Bindings forwardBindings(Node node, Instr in, int workspace) {
            return Bindings.forward(offsets(in, node.inputs()), offsets(in, node.outputs()), offsets(in, node.params()),
                    offsets(in, node.aux()), workspace >= 0 ? off(in, workspace) : -1);
        }

        Bindings backwardBindings(Node node, Instr in, Step st) {
            BackwardNeeds needs = node.op().backwardNeeds();
            long[] inOff = new long[node.inputs().length], outOff = new long[node.outputs().length];
            long[] paramOff = new long[node.params().length], auxOff = new long[node.aux().length];
            Arrays.fill(inOff, -1);
            Arrays.fill(outOff, -1);
            Arrays.fill(paramOff, -1);
            Arrays.fill(auxOff, -1);
            for (int k : needs.inputs()) inOff[k] = off(in, s.tensorOfValue(node.inputs()[k]));
            for (int k : needs.outputs()) outOff[k] = off(in, s.tensorOfValue(node.outputs()[k]));
            if (needs.params()) for (int k = 0; k < paramOff.length; k++)
                paramOff[k] = off(in, s.tensorOfValue(node.params()[k]));
            if (needs.aux()) for (int k = 0; k < auxOff.length; k++)
                auxOff[k] = off(in, s.tensorOfValue(node.aux()[k]));
            long[] gradOut = new long[node.outputs().length];
            for (int k = 0; k < gradOut.length; k++) {
                int gt = s.gradOfValue(g.storageOf(node.outputs()[k]));
                gradOut[k] = gt >= 0 && contains(st.reads(), gt) ? off(in, gt) : -1;
            }
            List<Integer> seen = new ArrayList<>();
            long[] gradIn = new long[node.inputs().length];
            boolean[] accIn = new boolean[gradIn.length];
            for (int k = 0; k < gradIn.length; k++) {
                int gt = s.gradOfValue(g.storageOf(node.inputs()[k]));
                gradIn[k] = gt >= 0 && contains(st.writes(), gt) ? off(in, gt) : -1;
                if (gradIn[k] >= 0) {
                    accIn[k] = uses.firstWrite(gt) < st.index() || seen.contains(gt);
                    seen.add(gt);
                }
            }
            long[] gradParams = new long[node.params().length];
            boolean[] accParams = new boolean[gradParams.length];
            for (int k = 0; k < gradParams.length; k++) {
                int gt = s.gradOfValue(node.params()[k]);
                gradParams[k] = gt >= 0 && contains(st.writes(), gt) ? off(in, gt) : -1;
                if (gradParams[k] >= 0) {
                    // a later micro-batch adds into the gradients the earlier ones made
                    accParams[k] = uses.firstWrite(gt) < st.index() || seen.contains(gt) || microBatch > 0;
                    seen.add(gt);
                }
            }
            return new Bindings(inOff, outOff, paramOff, auxOff, st.workspace() >= 0 ? off(in, st.workspace()) : -1,
                    gradOut, gradIn, gradParams, accIn, accParams);
        }

        void optimizer(Instr in, Step st) {
            int param = -1, grad = -1;
            List<Integer> states = new ArrayList<>();
            for (int t : st.reads()) {
                TensorKind k = s.tensor(t).kind();
                if (k == TensorKind.PARAM) param = t;
                else if (k == TensorKind.PARAM_GRAD) grad = t;
                else if (k == TensorKind.OPTIMIZER_STATE) states.add(t);
            }
            if (param < 0) return; // a framework's zero_grad step: only ends the gradients' lifetime
            long[] so = new long[states.size()];
            for (int k = 0; k < so.length; k++) so[k] = off(in, states.get(k));
            backend.optimizerStep(s.optimizer(), cfg.learningRate(), off(in, param), off(in, grad), so,
                    s.tensor(param).shape().numel(), iteration + 1);
        }

        Timeline timeline() {
            return new Timeline(List.copyOf(timeline), startSeconds, liveAt, new long[es.size()]);
        }
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }
}

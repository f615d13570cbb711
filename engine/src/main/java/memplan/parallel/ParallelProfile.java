package memplan.parallel;

import memplan.framework.OptimizerForm;
import memplan.graph.Node;
import memplan.ir.TensorRole;
import memplan.profile.LiveByRole;
import memplan.profile.Liveness;
import memplan.train.InFlightCopies;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Per-rank memory of a training job laid out by a {@link Layout}, from the schedule of one rank's micro-batch
 * (the global batch over dp and the micro-batches). Every tensor of the schedule keeps its lifetime; what changes per
 * rank is its size and, for sharded gradients, its end:
 * <ul>
 * <li>tensor parallelism divides the Linear and Embedding weights (with their gradients and optimizer state) and the
 * activations Megatron splits ({@link TensorSplit}) by tp, and with sequence parallelism every activation:
 * sbh(10 + 24/t + 5as/(ht)) and sbh(34 + 5as/h)/t per layer ({@link TransformerActivations});</li>
 * <li>pipeline stages take contiguous forward nodes balanced by FLOPs; a stage holds the tensors its steps touch and
 * the saved activations of the micro-batches in flight ({@link PipelineSchedule#inFlight});</li>
 * <li>zero1 is PyTorch's ZeroRedundancyOptimizer over DDP: each rank keeps the optimizer state (and runs the updates,
 * with their temporaries) of the parameters its greedy partition assigns it, largest first to the emptiest rank, and
 * updates them largest first (see {@code denominatorLag});</li>
 * <li>DDP (none, zero1) keeps persistent gradient buckets holding a flat copy of all gradients (25 MiB each, the
 * first 1 MiB, filled in reverse parameter order);</li>
 * <li>gradient sharding (zero2, zero3, FSDP) frees each full gradient after its layer's backward (reduce-scatter)
 * and keeps 1/Nd of them; DeepSpeed (zero2, zero3) adds its reduce bucket of up to 5e8 elements;</li>
 * <li>parameter sharding keeps 1/Nd of the parameters and gathers a layer's full parameters around its forward and
 * backward steps, with the next layer's prefetched (FSDP's forward and backward prefetch, DeepSpeed's prefetch
 * bucket); fsdp-grad-op gathers them once and keeps them through backward;</li>
 * <li>offload moves the optimizer state (and sharded gradients) or the parameter shards to host memory.</li>
 * </ul>
 */
public record ParallelProfile(Layout layout, List<RankMemory> ranks) {

    /** PyTorch DDP's defaults: bucket_cap_mb = 25 and the first bucket's 1 MiB (dist._DEFAULT_FIRST_BUCKET_BYTES). */
    public static final long BUCKET_CAP = 25L << 20, FIRST_BUCKET = 1L << 20;
    /** DeepSpeed's default reduce_bucket_size, in elements. */
    public static final long DEEPSPEED_REDUCE_BUCKET = 500_000_000L;
    /** Ranks whose ZeRO-1 partitions are computed one by one; beyond it the rest are alike within one parameter. */
    static final int MAX_DISTINCT_RANKS = 64;

    /** The rank with the highest peak (the first such). */
    public RankMemory highest() {
        RankMemory h = ranks.get(0);
        for (RankMemory r : ranks) if (r.peakBytes() > h.peakBytes()) h = r;
        return h;
    }

    /** Every distinct rank of the layout (ZeRO-1 partitions differ per data-parallel rank, stages per stage). */
    public static ParallelProfile of(Schedule s, Layout layout) {
        checkStages(s, layout);
        Context c = new Context(s, layout);
        List<RankMemory> out = new ArrayList<>();
        int dpRanks = layout.shard() == ShardMode.ZERO1 ? Math.min(layout.dp(), MAX_DISTINCT_RANKS) : 1;
        for (int stage = 0; stage < layout.pp(); stage++)
            for (int r = 0; r < dpRanks; r++) out.add(c.rank(r, stage));
        return new ParallelProfile(layout, List.copyOf(out));
    }

    /**
     * Every distinct rank of the layout as a schedule a planner can plan: the micro-batch's steps and tensors with the
     * rank's sizes and step costs, and what else the rank holds per step (see {@link Schedule#onDevice}). Planned with
     * no decision, each one's simulated peak is its rank's {@link RankMemory#peakBytes()}.
     */
    public static List<RankSchedule> rankSchedules(Schedule s, Layout layout) {
        checkStages(s, layout);
        Context c = new Context(s, layout);
        List<RankSchedule> out = new ArrayList<>();
        int dpRanks = layout.shard() == ShardMode.ZERO1 ? Math.min(layout.dp(), MAX_DISTINCT_RANKS) : 1;
        for (int stage = 0; stage < layout.pp(); stage++) {
            List<Step> costs = c.stepCosts(stage);
            for (int r = 0; r < dpRanks; r++) {
                RankParts p = c.parts(r, stage);
                out.add(new RankSchedule(p.memory(), s.onDevice(p.tensorBytes(), costs, p.held(), p.copies())));
            }
        }
        return List.copyOf(out);
    }

    /** The pipeline stage of each step (-1: a step every stage runs, such as zero_grad). */
    static int[] stageOfSteps(Schedule s, Layout layout) {
        checkStages(s, layout);
        return new Context(s, layout).stageOfStep.clone();
    }

    /** A rank's memory and its planners' view: bytes of the tensors they may change, and the rest per role/step. */
    private record RankParts(RankMemory memory, long[] tensorBytes, long[][] held, InFlightCopies copies) {
    }

    /**
     * Bytes of the forward activations one pipeline stage hands the next per micro-batch (the largest boundary): the
     * tensors a stage's forward steps write that a later stage's forward steps read.
     */
    static long boundaryBytes(Schedule s, Layout layout) {
        if (layout.pp() == 1) return 0;
        checkStages(s, layout);
        Context c = new Context(s, layout);
        int[] producer = new int[s.tensorCount()];
        Arrays.fill(producer, -1);
        long[] crossing = new long[layout.pp()];
        boolean[] counted = new boolean[s.tensorCount()];
        for (Step st : s.steps()) {
            if (st.phase() != Phase.FORWARD) continue;
            int k = c.stageOfStep[st.index()];
            for (int t : st.reads()) {
                TensorKind kind = s.tensor(t).kind();
                if (kind != TensorKind.ACTIVATION || producer[t] < 0 || producer[t] == k || counted[t]) continue;
                counted[t] = true;
                crossing[producer[t]] += s.tensor(t).bytes();
            }
            for (int t : st.writes()) if (producer[t] < 0) producer[t] = k;
        }
        long most = 0;
        for (long b : crossing) most = Math.max(most, b);
        return most;
    }

    /** A pipeline cannot have more stages than the model has layers that compute. */
    private static void checkStages(Schedule s, Layout layout) {
        if (layout.pp() == 1) return;
        long layers = s.steps().stream().filter(st -> st.phase() == Phase.FORWARD).count();
        if (layout.pp() > layers) throw new IllegalArgumentException("a pipeline of " + layout.pp() + " stages needs "
                + "as many layers; " + s.graph().model().name() + " has " + layers);
    }

    /** What every rank shares: the schedule's liveness, stages of steps and tensors, parameter ownership. */
    private static final class Context {
        final Schedule s;
        final Layout l;
        final Liveness live;
        final int n;
        final int[] stageOfStep;
        final int[] paramOfOptStep;     // the parameter tensor an optimizer step updates, or -1
        final int[] lastBackwardWrite;  // per tensor, the last backward step writing it, or -1
        final int[][] ownerOfParam;     // per stage, per tensor id of a parameter: its ZeRO-1 rank, or -1
        final TensorSplit split;        // with tensor parallelism: which tensors the tp ranks divide

        Context(Schedule s, Layout l) {
            this.s = s;
            this.l = l;
            this.live = Liveness.of(s);
            this.n = s.stepCount();
            this.paramOfOptStep = new int[n];
            Arrays.fill(paramOfOptStep, -1);
            for (Step st : s.steps()) {
                if (st.phase() != Phase.OPTIMIZER) continue;
                for (int t : st.writes()) if (s.tensor(t).kind() == TensorKind.PARAM) paramOfOptStep[st.index()] = t;
            }
            this.lastBackwardWrite = new int[s.tensorCount()];
            Arrays.fill(lastBackwardWrite, -1);
            for (Step st : s.steps())
                if (st.phase() == Phase.BACKWARD) for (int t : st.writes()) lastBackwardWrite[t] = st.index();
            this.stageOfStep = stages();
            this.split = l.tp() > 1 ? TensorSplit.of(s.graph()) : null;
            this.ownerOfParam = new int[l.pp()][];
            for (int k = 0; k < l.pp(); k++) ownerOfParam[k] = partition(k);
        }

        /** Forward nodes in contiguous stages of about equal forward FLOPs; backward follows its node. */
        private int[] stages() {
            int[] st = new int[n];
            if (l.pp() == 1) return st;
            long total = 0;
            for (Step x : s.steps()) if (x.phase() == Phase.FORWARD) total += Math.max(1, x.flops());
            int[] stageOfNode = new int[s.graph().nodes().size()];
            long acc = 0;
            for (Step x : s.steps()) {
                if (x.phase() != Phase.FORWARD) continue;
                int k = (int) Math.min(l.pp() - 1, acc * l.pp() / total);
                stageOfNode[x.node()] = k;
                acc += Math.max(1, x.flops());
            }
            // nodes without a forward step (views, inputs) take the stage of the node before them
            int last = 0;
            for (Node nd : s.graph().nodes()) {
                int f = s.forwardStep(nd.index());
                if (f >= 0) last = stageOfNode[nd.index()];
                else stageOfNode[nd.index()] = last;
            }
            int[] stageOfParam = new int[s.tensorCount()];
            Arrays.fill(stageOfParam, -1);
            for (Step x : s.steps()) {
                if (x.node() >= 0) st[x.index()] = stageOfNode[x.node()];
                if (x.phase() == Phase.FORWARD)
                    for (int t : x.reads()) if (stageOfParam[t] < 0) stageOfParam[t] = st[x.index()];
            }
            for (Step x : s.steps()) {
                if (x.node() >= 0) continue;
                int p = paramOfOptStep[x.index()];
                st[x.index()] = p >= 0 && stageOfParam[p] >= 0 ? stageOfParam[p] : -1;   // -1: every stage (zero_grad)
            }
            return st;
        }

        /**
         * The steps as a rank of a stage pays them: the stage's own divided over the tensor-parallel ranks (as
         * Megatron divides the GEMMs and, with sequence parallelism, the rest), the other stages' free.
         */
        List<Step> stepCosts(int stage) {
            List<Step> out = new ArrayList<>(n);
            for (Step x : s.steps()) {
                boolean mine = stepInStage(x.index(), stage);
                long flops = mine ? ceilDiv(x.flops(), l.tp()) : 0;
                long bytes = mine ? ceilDiv(x.bytesAccessed(), l.tp()) : 0;
                out.add(new Step(x.index(), x.phase(), x.node(), x.label(), x.reads(), x.writes(), x.workspace(),
                        flops, bytes));
            }
            return out;
        }

        /** A tensor's bytes on one tensor-parallel rank. */
        long tpBytes(TensorInfo t, long bytes) {
            if (split == null) return bytes;
            boolean activation = t.kind() == TensorKind.ACTIVATION || t.kind() == TensorKind.AUX
                    || t.kind() == TensorKind.ACTIVATION_GRAD;
            return activation && l.sequenceParallel() || split.split(s, t) ? ceilDiv(bytes, l.tp()) : bytes;
        }

        boolean stepInStage(int step, int stage) {
            return stageOfStep[step] < 0 || stageOfStep[step] == stage;
        }

        /** ZeroRedundancyOptimizer's partition of the stage's trainable parameters over the dp ranks. */
        private int[] partition(int stage) {
            int[] owner = new int[s.tensorCount()];
            Arrays.fill(owner, -1);
            List<Integer> params = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int p = paramOfOptStep[i];
                if (p >= 0 && stepInStage(i, stage) && stageOfStep[i] >= 0 || p >= 0 && l.pp() == 1) params.add(p);
            }
            // largest first; a stable sort keeps the parameters' order among equal sizes, as Python's sorted does
            params.sort(Comparator.comparingLong((Integer p) -> -s.tensor(p).shape().numel()));
            long[] sizes = new long[l.dp()];
            for (int p : params) {
                int r = 0;
                for (int i = 1; i < sizes.length; i++) if (sizes[i] < sizes[r]) r = i;
                owner[p] = r;
                sizes[r] += s.tensor(p).shape().numel();
            }
            return owner;
        }

        RankMemory rank(int dpRank, int stage) {
            return parts(dpRank, stage).memory();
        }

        /**
         * One rank: its memory, and its share split the way planners see it: the bytes of each tensor a planner
         * may act on (activations, aux tensors, activation gradients, the ops' workspaces; 0 for the rest), and per
         * role and step everything else the rank holds (model states, the engine's buffers), and the copies the
         * other micro-batches in flight hold.
         */
        RankParts parts(int dpRank, int stage) {
            int roles = TensorRole.values().length;
            long[][] diff = new long[roles][n + 1];
            long[][] own = new long[roles][n + 1];
            long[] tensorBytes = new long[s.tensorCount()];
            boolean[] inStage = tensorsOfStage(stage);
            int nd = l.shardDegree();
            int tp = l.tp();
            ShardMode m = l.shard();
            long modelStates = 0, offloaded = 0, gradShards = 0, ddpBytes = 0, gradElements = 0;
            List<Long> gradsInReverse = new ArrayList<>();
            long ownedNumel = 0, allNumel = 0;
            for (int i = 0; i < n; i++) {
                int p = paramOfOptStep[i];
                if (p < 0 || !inStage[p]) continue;
                allNumel += s.tensor(p).shape().numel();
                if (ownerOfParam[stage][p] == dpRank) ownedNumel += s.tensor(p).shape().numel();
            }
            long[] lag = m == ShardMode.ZERO1 ? denominatorLag(stage, dpRank) : null;
            int firstStep = -1, lastFwdBwd = -1;
            for (int i = 0; i < n; i++) {
                if (s.step(i).phase() == Phase.OPTIMIZER || !stepInStage(i, stage)) continue;
                if (firstStep < 0) firstStep = i;
                lastFwdBwd = i;
            }
            for (TensorInfo t : s.tensors()) {
                if (!inStage[t.id()]) continue;
                int a = Math.max(0, live.first(t.id()));
                int b = Math.min(n - 1, live.last(t.id()));
                if (b < a) continue;
                long bytes = t.bytes();
                TensorRole role = t.role();
                boolean plannable = false;
                switch (t.kind()) {
                    case PARAM -> {
                        long full = tpBytes(t, bytes);
                        boolean trainable = s.gradOfValue(t.value()) >= 0;
                        if (!trainable || !m.shardsParameters && m != ShardMode.FSDP_GRAD_OP) {
                            bytes = full;
                            modelStates += bytes;
                        } else {
                            long shard = ceilDiv(full, nd);
                            bytes = l.offloadParameters() ? 0 : shard;
                            if (l.offloadParameters()) offloaded += shard;
                            modelStates += bytes;
                            if (m == ShardMode.FSDP_GRAD_OP && firstStep >= 0) {
                                // gathered once at the first forward, resharded after backward
                                diff[role.ordinal()][firstStep] += full - shard;
                                diff[role.ordinal()][lastFwdBwd + 1] -= full - shard;
                            }
                        }
                    }
                    case PARAM_GRAD -> {
                        bytes = tpBytes(t, bytes);
                        gradsInReverse.add(0, bytes);
                        gradElements += tpBytes(t, t.shape().numel());
                        if (m.shardsGradients) {
                            // reduce-scattered after the layer's backward: the full gradient goes, a shard stays
                            if (lastBackwardWrite[t.id()] >= 0) b = Math.min(b, lastBackwardWrite[t.id()]);
                            long shard = ceilDiv(bytes, nd);
                            if (l.offloadOptimizer()) offloaded += shard;
                            else gradShards += shard;
                        } else {
                            ddpBytes += bytes;
                            if (l.microBatches() > 1) { // accumulated over the micro-batches
                                a = 0;
                                b = n - 1;
                            }
                            modelStates += bytes;
                        }
                    }
                    case OPTIMIZER_STATE -> {
                        bytes = tpBytes(t, bytes);
                        if (m == ShardMode.ZERO1) bytes = ownerOfParam[stage][paramTensorOf(t)] == dpRank ? bytes : 0;
                        else if (m.shardsOptimizerState) bytes = ceilDiv(bytes, nd);
                        if (l.offloadOptimizer()) {
                            offloaded += bytes;
                            bytes = 0;
                        }
                        modelStates += bytes;
                    }
                    case WORKSPACE -> {
                        int opt = optimizerStepUsing(t.id(), a);
                        plannable = opt < 0;
                        if (opt < 0) bytes = ceilDiv(bytes, tp);
                        else {
                            int p = paramOfOptStep[opt];
                            // the temporaries of an update are split as its parameter is
                            long whole = bytes;
                            bytes = tpBytes(s.tensor(p), bytes);
                            if (l.offloadOptimizer()) bytes = 0;
                            else if (m == ShardMode.ZERO1) bytes = t.name().startsWith("foreach.")
                                    ? (allNumel == 0 ? 0 : ceilDiv(whole * ownedNumel / allNumel, tp))
                                    : ownerOfParam[stage][p] == dpRank ? tpBytes(s.tensor(p), ownTemporaries(p)
                                    + lag[p]) : 0;
                            else if (m.shardsOptimizerState) bytes = ceilDiv(bytes, nd);
                        }
                    }
                    case ACTIVATION, AUX, ACTIVATION_GRAD -> {
                        bytes = tpBytes(t, bytes);
                        plannable = true;
                    }
                    case DATA, BUFFER -> { }
                }
                if (bytes == 0) continue;
                long[][] into = plannable ? own : diff;
                if (plannable) tensorBytes[t.id()] = bytes;
                into[role.ordinal()][a] += bytes;
                into[role.ordinal()][b + 1] -= bytes;
            }
            List<CommBuffer> buffers = new ArrayList<>();
            if (m.usesDdpBuckets() && l.dp() > 1 && ddpBytes > 0) {
                addPersistent(diff, TensorRole.GRADIENT, ddpBytes);
                buffers.add(new CommBuffer("DDP gradient buckets", TensorRole.GRADIENT, ddpBytes,
                        bucketCount(gradsInReverse), true));
            }
            if (gradShards > 0) {
                addPersistent(diff, TensorRole.GRADIENT, gradShards);
                buffers.add(new CommBuffer("gradient shards (1/" + nd + ")", TensorRole.GRADIENT, gradShards, 1,
                        true));
            }
            if ((m == ShardMode.ZERO2 || m == ShardMode.ZERO3) && gradElements > 0) {
                long elt = gradsInReverse.isEmpty() ? 0 : gradBytesPerElement();
                long bucket = Math.min(gradElements, DEEPSPEED_REDUCE_BUCKET) * elt;
                addPersistent(diff, TensorRole.GRADIENT, bucket);
                buffers.add(new CommBuffer("DeepSpeed reduce bucket", TensorRole.GRADIENT, bucket, 1, true));
            }
            if (m.shardsParameters) {
                long gathered = addGathered(diff, stage, tp, nd);
                buffers.add(new CommBuffer("all-gathered parameters (a layer and its prefetch, at most)",
                        TensorRole.WEIGHT, gathered, 1, false));
            }
            if (m.shardsGradients) modelStates += gradShards;
            InFlightCopies copies = stash(stage, inStage);
            long stash = 0;
            if (copies != null) {
                // held by the other micro-batches while the plan keeps each tensor (planners see them go with it)
                for (int t = 0; t < s.tensorCount(); t++) {
                    long c = copies.bytes(t);
                    if (c == 0) continue;
                    stash += c;
                    int r = s.tensor(t).role().ordinal();
                    own[r][copies.fromStep()] += c;
                    own[r][copies.toStep() + 1] -= c;
                }
            }
            if (stash > 0) buffers.add(new CommBuffer("activation stash of the micro-batches in flight",
                    TensorRole.ACTIVATION, stash, l.pipeline().inFlight(stage, l.pp(), l.microBatches()) - 1, false));
            long[][] held = LiveByRole.sum(diff, n).perRole();
            for (int r = 0; r < roles; r++) for (int i = 0; i <= n; i++) diff[r][i] += own[r][i];
            return new RankParts(finish(dpRank, stage, diff, modelStates, offloaded, buffers), tensorBytes, held,
                    copies);
        }

        /**
         * Per parameter tensor, the bytes of the previous update's Adam denominator still live while its own two
         * temporaries are made: PyTorch 1.13's single-tensor Adam frees {@code denom} only when the next update
         * assigns it, and ZeroRedundancyOptimizer hands its local Adam the rank's parameters largest first, so two
         * large updates follow each other (on one device the parameter order puts small biases between them).
         */
        private long[] denominatorLag(int stage, int dpRank) {
            long[] lag = new long[s.tensorCount()];
            boolean single = s.optimizer() == Optimizer.ADAM && s.framework().optimizerTemporaries()
                    && s.framework().optimizerForm() == OptimizerForm.SINGLE_TENSOR;
            if (!single) return lag;
            List<Integer> local = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int p = paramOfOptStep[i];
                if (p >= 0 && ownerOfParam[stage][p] == dpRank) local.add(p);
            }
            local.sort(Comparator.comparingLong((Integer p) -> -s.tensor(p).shape().numel()));
            for (int k = 1; k < local.size(); k++) lag[local.get(k)] = s.tensor(local.get(k - 1)).bytes();
            return lag;
        }

        /**
         * An update's own temporaries, without the previous parameter's denominator the schedule adds (on this rank
         * the previous update is another one: {@link #denominatorLag}).
         */
        private long ownTemporaries(int param) {
            return (long) s.optimizer().temporariesPerParam * s.tensor(param).bytes();
        }

        private long gradBytesPerElement() {
            for (TensorInfo t : s.tensors()) if (t.kind() == TensorKind.PARAM_GRAD) return t.dtype().bytes;
            return 0;
        }

        private void addPersistent(long[][] diff, TensorRole role, long bytes) {
            diff[role.ordinal()][0] += bytes;
            diff[role.ordinal()][n] -= bytes;
        }

        /** Adds the gathered full parameters of each layer (and its prefetched neighbour); returns the largest. */
        private long addGathered(long[][] diff, int stage, int tp, int nd) {
            List<Integer> fwd = new ArrayList<>();
            List<Long> unit = new ArrayList<>();
            for (Step st : s.steps()) {
                if (st.phase() != Phase.FORWARD || !stepInStage(st.index(), stage)) continue;
                long u = 0;
                for (int t : st.reads()) {
                    TensorInfo ti = s.tensor(t);
                    if (ti.kind() == TensorKind.PARAM && s.gradOfValue(ti.value()) >= 0) {
                        long full = tpBytes(ti, ti.bytes());
                        u += full - (l.offloadParameters() ? 0 : ceilDiv(full, nd));
                    }
                }
                if (u == 0) continue;
                fwd.add(st.node());
                unit.add(u);
            }
            long most = 0;
            int r = TensorRole.WEIGHT.ordinal();
            for (int i = 0; i < fwd.size(); i++) {
                long fwdBytes = unit.get(i) + (i + 1 < unit.size() ? unit.get(i + 1) : 0);
                long bwdBytes = unit.get(i) + (i > 0 ? unit.get(i - 1) : 0);
                int f = s.forwardStep(fwd.get(i)), b = s.backwardStep(fwd.get(i));
                diff[r][f] += fwdBytes;
                diff[r][f + 1] -= fwdBytes;
                if (b >= 0) {
                    diff[r][b] += bwdBytes;
                    diff[r][b + 1] -= bwdBytes;
                }
                most = Math.max(most, Math.max(fwdBytes, bwdBytes));
            }
            return most;
        }

        /**
         * The saved activations of the other micro-batches a pipeline stage holds while it runs one, per tensor,
         * during the stage's forward and backward steps; null without them.
         */
        private InFlightCopies stash(int stage, boolean[] inStage) {
            if (l.pp() == 1) return null;
            int extra = l.pipeline().inFlight(stage, l.pp(), l.microBatches()) - 1;
            if (extra <= 0) return null;
            long[] copies = new long[s.tensorCount()];
            boolean any = false;
            for (Step st : s.steps()) {
                if (st.phase() != Phase.BACKWARD || !stepInStage(st.index(), stage)) continue;
                for (int t : st.reads()) {
                    TensorKind k = s.tensor(t).kind();
                    if (!inStage[t] || k != TensorKind.ACTIVATION && k != TensorKind.AUX || copies[t] > 0) continue;
                    copies[t] = tpBytes(s.tensor(t), s.tensor(t).bytes()) * extra;
                    any |= copies[t] > 0;
                }
            }
            int first = -1, last = -1;
            for (int i = 0; i < n; i++) {
                if (s.step(i).phase() == Phase.OPTIMIZER || !stepInStage(i, stage)) continue;
                if (first < 0) first = i;
                last = i;
            }
            return first < 0 || !any ? null : new InFlightCopies(copies, first, last);
        }

        private int optimizerStepUsing(int workspace, int step) {
            if (step < 0 || step >= n) return -1;
            Step st = s.step(step);
            return st.phase() == Phase.OPTIMIZER && st.workspace() == workspace ? step : -1;
        }

        private int paramTensorOf(TensorInfo state) {
            return s.tensorOfValue(state.value());
        }

        /** Tensors some step of the stage touches (with one stage: all of them). */
        private boolean[] tensorsOfStage(int stage) {
            boolean[] in = new boolean[s.tensorCount()];
            if (l.pp() == 1) {
                Arrays.fill(in, true);
                return in;
            }
            for (Step st : s.steps()) {
                if (stageOfStep[st.index()] != stage) continue;   // zero_grad touches every stage's gradients
                for (int t : st.reads()) in[t] = true;
                for (int t : st.writes()) in[t] = true;
                if (st.workspace() >= 0) in[st.workspace()] = true;
            }
            for (TensorInfo t : s.tensors()) {
                if (t.kind() == TensorKind.DATA) in[t.id()] = true;
                if (t.kind() == TensorKind.OPTIMIZER_STATE) in[t.id()] = in[paramTensorOf(t)];
            }
            return in;
        }

        private int bucketCount(List<Long> gradsInReverse) {
            int count = 0;
            long cur = 0, cap = FIRST_BUCKET;
            for (long g : gradsInReverse) {
                if (cur == 0) count++;
                cur += g;
                if (cur >= cap) {
                    cur = 0;
                    cap = BUCKET_CAP;
                }
            }
            return count;
        }

        private RankMemory finish(int dpRank, int stage, long[][] diff, long modelStates, long offloaded,
                                  List<CommBuffer> buffers) {
            LiveByRole c = LiveByRole.sum(diff, n);
            return new RankMemory(dpRank, stage, c.total(), c.perRole(), c.peakStep(), c.peakBytes(), c.peakByRole(),
                    modelStates, offloaded, List.copyOf(buffers), RankMemory.phasePeaks(s.steps(), c.total()));
        }
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}

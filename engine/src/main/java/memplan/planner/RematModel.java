package memplan.planner;

import com.google.ortools.Loader;
import com.google.ortools.sat.BoolVar;
import com.google.ortools.sat.CpModel;
import com.google.ortools.sat.CpSolver;
import com.google.ortools.sat.CpSolverSolutionCallback;
import com.google.ortools.sat.CpSolverStatus;
import com.google.ortools.sat.CumulativeConstraint;
import com.google.ortools.sat.IntVar;
import com.google.ortools.sat.IntervalVar;
import com.google.ortools.sat.LinearArgument;
import com.google.ortools.sat.LinearExpr;
import com.google.ortools.sat.LinearExprBuilder;
import com.google.ortools.sat.Literal;
import com.google.ortools.sat.PartialVariableAssignment;
import com.google.ortools.util.Domain;
import com.google.protobuf.TextFormat;
import memplan.backend.Codec;
import memplan.graph.Node;
import memplan.lower.Buffer;
import memplan.lower.ExecutionSchedule;
import memplan.lower.Instr;
import memplan.lower.InstrKind;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.InFlightCopies;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Rematerialisation as a CP-SAT model over MemPlan's own schedule (Moccasin's retention intervals, Bartan et al.
 * ICML 2023). Time is a line of positions: before each step, one slot per forward op (in forward order) where that
 * op may be re-run, then the step itself. Each recomputable activation lives in a sequence of intervals: the first
 * from its forward write, then one after each re-run of its producer; every read (a step, or a re-run of a
 * consumer) must fall inside one. A cumulative constraint holds the intervals plus everything the plan does not
 * decide (parameters, gradients, workspaces, what the plan already fixed, scratch outputs of re-runs) under the
 * budget at every position. The objective is the re-runs' time, priced as the simulator prices a RECOMPUTE.
 */
final class RematModel {
    private static final double PICO = 1e12;

    private final PlanContext ctx;
    private final Schedule s;
    private final Plan start;
    private final int maxRuns;
    private final long stride;
    private final int[] slot;
    private final boolean[] cand;
    private final List<Node> nodes = new ArrayList<>(); // producers of candidates, forward order
    private final Map<Integer, int[]> outsOf = new TreeMap<>(); // node index -> candidate outputs
    private final Map<Integer, Window> runWindow = new TreeMap<>(); // node index -> backward steps it may re-run at
    private final List<List<Node>> readers; // by tensor: runnable consumers
    private final List<Integer> backwardSteps = new ArrayList<>();
    private int[] backward;
    private int[] runEnd; // per index into backward: the last index of its run of consecutive steps
    private long[] fixedAt, fixedBefore;

    private CpModel model;
    private final Map<Integer, BoolVar[]> present = new TreeMap<>();
    private final Map<Integer, IntVar[]> runPos = new TreeMap<>();
    private final Map<Integer, IntVar[]> runStage = new TreeMap<>();
    private final Map<Integer, IntVar[]> ends = new TreeMap<>(); // tensor -> exclusive ends, [0] the forward copy
    private IntVar capacity;
    private LinearExpr cost;
    private Deadline deadline = Deadline.after(Double.MAX_VALUE / 1e10);
    private final List<Helper> helpers = new ArrayList<>();
    private final Map<Integer, IntVar[]> runLen = new TreeMap<>(); // tensor -> sizes of its rebuilt copies
    private double cutSeconds;
    private int cutSteps;
    private boolean swaps;
    private final Map<Integer, BoolVar> swapped = new TreeMap<>(); // tensor -> swapped to host and back
    private final Map<Integer, int[]> swapSteps = new TreeMap<>(); // tensor -> {out, release, prefetch, in}
    private final Map<Integer, IntVar[]> swapStalls = new TreeMap<>(); // tensor -> {out stall, in stall}
    private final Map<Integer, Long> swapPico = new TreeMap<>(); // tensor -> transfer time
    private double[] stepEnd; // end of each step in the baseline, seconds
    private boolean compression;
    private final Map<Integer, BoolVar> compressed = new TreeMap<>(); // tensor -> held encoded over its idle window
    private final Map<Integer, Codec> codecOf = new TreeMap<>();
    private final Map<Integer, int[]> compressWindow = new TreeMap<>(); // tensor -> {last forward use, first read}

    RematModel(PlanContext ctx, Plan start, int maxRuns) {
        this.ctx = ctx;
        this.s = ctx.schedule;
        this.start = start;
        this.maxRuns = maxRuns;
        List<Node> fwd = new ArrayList<>();
        for (Node n : s.graph().nodes()) if (s.forwardStep(n.index()) >= 0) fwd.add(n);
        fwd.sort((a, b) -> Integer.compare(s.forwardStep(a.index()), s.forwardStep(b.index())));
        slot = new int[s.graph().nodes().size()];
        Arrays.fill(slot, -1);
        for (int i = 0; i < fwd.size(); i++) slot[fwd.get(i).index()] = i;
        stride = fwd.size() + 1L;
        for (int i = 0; i < s.stepCount(); i++) if (s.step(i).phase() == Phase.BACKWARD) backwardSteps.add(i);
        backward = backwardSteps.stream().mapToInt(Integer::intValue).toArray();
        runEnd = new int[backward.length];
        for (int i = backward.length - 1; i >= 0; i--)
            runEnd[i] = i + 1 < backward.length && backward[i + 1] == backward[i] + 1 ? runEnd[i + 1] : i;

        int n = s.tensorCount();
        Decision[] d = start.decisions();
        boolean[] overwritten = new boolean[n];
        for (Decision x : d) if (x instanceof Decision.Share sh && sh.with() >= 0) overwritten[sh.with()] = true;
        cand = new boolean[n];
        for (int t = 0; t < n; t++)
            cand[t] = d[t] instanceof Decision.Keep && ctx.producer(t) != null && t != s.lossTensor()
                    && ctx.uses.lastForwardUse(t) >= 0 && !overwritten[t];
        // An op can be re-run only if every input it reads stays readable: kept, or itself decided here.
        boolean[] runnable = new boolean[slot.length];
        for (Node p : fwd) {
            boolean ok = true;
            for (int in : p.inputs()) {
                int ti = s.tensorOfValue(in);
                boolean kept = d[ti] instanceof Decision.Keep || d[ti] instanceof Decision.Share;
                ok &= cand[ti] || kept && !overwritten[ti];
            }
            runnable[p.index()] = ok;
        }
        for (int t = 0; t < n; t++) if (cand[t] && !runnable[ctx.producer(t).index()]) cand[t] = false;
        readers = new ArrayList<>(n);
        for (int t = 0; t < n; t++) readers.add(new ArrayList<>());
        for (Node p : fwd) {
            if (!runnable[p.index()]) continue;
            List<Integer> outs = new ArrayList<>();
            for (int o : p.outputs()) if (cand[s.tensorOfValue(o)]) outs.add(s.tensorOfValue(o));
            for (int a : p.aux()) if (cand[s.tensorOfValue(a)]) outs.add(s.tensorOfValue(a));
            if (outs.isEmpty()) continue;
            nodes.add(p);
            outsOf.put(p.index(), outs.stream().mapToInt(Integer::intValue).toArray());
        }
        for (Node c : nodes)
            for (int in : c.inputs()) {
                int ti = s.tensorOfValue(in);
                if (cand[ti] && !readers.get(ti).contains(c)) readers.get(ti).add(c);
            }
        // Stages where a re-run can help: not after the last read of what it rebuilds (or of what its consumers
        // rebuild), nor after the last use of a kept input it reads. Reverse forward order: consumers come first.
        int[] lo = new int[slot.length], hi = new int[slot.length];
        for (int k = nodes.size() - 1; k >= 0; k--) {
            Node p = nodes.get(k);
            int l = Integer.MAX_VALUE, h = -1;
            for (int o : outsOf.get(p.index())) {
                if (ctx.uses.firstBackwardUse(o) >= 0) {
                    l = Math.min(l, ctx.uses.firstBackwardUse(o));
                    h = Math.max(h, ctx.uses.lastUse(o));
                }
                for (Node c : readers.get(o))
                    if (!runWindow.get(c.index()).isEmpty()) {
                        l = Math.min(l, lo[c.index()]);
                        h = Math.max(h, hi[c.index()]);
                    }
            }
            for (int in : p.inputs()) {
                int ti = s.tensorOfValue(in);
                TensorInfo info = s.tensor(ti);
                boolean whole = info.kind().persistent() || info.kind() == TensorKind.DATA;
                if (!cand[ti] && !whole) h = Math.min(h, ctx.uses.lastUse(ti));
            }
            lo[p.index()] = l;
            hi[p.index()] = h;
            int from = firstAtOrAfter(backward, l), to = h < 0 ? -1 : lastAtOrBefore(backward, h);
            runWindow.put(p.index(), new Window(from, to));
        }
        fixedMemory();
    }

    /**
     * Where an op may re-run: before the backward steps {@code backward[from..to]} (none when from > to). Kept as a
     * range, not a list of positions: listed, the windows of a long chain grow with the square of its length.
     */
    private record Window(int from, int to) {
        boolean isEmpty() {
            return from > to;
        }

        int size() {
            return Math.max(0, to - from + 1);
        }
    }

    private long firstRunPos(Node p) {
        return pos(backward[runWindow.get(p.index()).from()], slot[p.index()]);
    }

    private long lastRunPos(Node p) {
        return pos(backward[runWindow.get(p.index()).to()], slot[p.index()]);
    }

    /** The stages of a window as a CP-SAT domain: runs of consecutive backward steps become one interval each. */
    private Domain stageDomain(Window w) {
        List<Long> flat = new ArrayList<>();
        for (int i = w.from(); i <= w.to(); ) {
            int j = Math.min(runEnd[i], w.to());
            flat.add((long) backward[i]);
            flat.add((long) backward[j]);
            i = j + 1;
        }
        return Domain.fromFlatIntervals(flat.stream().mapToLong(Long::longValue).toArray());
    }

    private boolean mayRunAt(Node p, int step) {
        Window w = runWindow.get(p.index());
        int i = Arrays.binarySearch(backward, step);
        return i >= w.from() && i <= w.to();
    }

    /**
     * A helper literal of the model with the condition it stands for, evaluated on the hint's values (indexed by
     * variable): so the warm start hints every variable and is a complete solution CP-SAT takes at once.
     */
    private record Helper(BoolVar literal, Predicate<long[]> holds) {
    }

    private BoolVar helper(Predicate<long[]> holds) {
        BoolVar b = model.newBoolVar("");
        helpers.add(new Helper(b, holds));
        return b;
    }

    private static volatile boolean loaded;

    /**
     * Starts loading the native solver on a daemon thread, while the greedy warm start runs: loading takes about
     * half a second, which would otherwise come out of the time left for the model. A failure is left for
     * {@link #loadSolver()} to report when the model is built.
     */
    static void loadSolverInBackground() {
        if (loaded) return;
        Thread t = new Thread(() -> {
            try {
                loadSolver();
            } catch (RuntimeException e) {
                // reported by the planner's own call
            }
        }, "memplan-solver-load");
        t.setDaemon(true);
        t.start();
    }

    /** Loads the native solver bundled in the ortools jar for this platform, once. */
    static synchronized void loadSolver() {
        if (loaded) return;
        try {
            Loader.loadNativeLibraries();
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalStateException("the CP-SAT solver (OR-Tools) cannot load on this platform ("
                    + System.getProperty("os.name") + ", " + System.getProperty("os.arch") + "): " + e.getMessage(), e);
        }
        loaded = true;
    }

    /**
     * Lets the model also swap candidates to host memory and back (hybrid-optimal), with the lowering's automatic
     * timings: out after the last forward use, the device copy released once the transfer could finish behind
     * compute, the swap-in issued early enough to hide it. Transfers share the one copy stream (no overlap, in
     * time of the baseline's steps); a transfer that does not fit its window stalls compute, which is its cost.
     */
    void allowSwaps() {
        swaps = true;
    }

    /**
     * Lets the model also hold a candidate in a lossless encoding (Gist's 1-bit ReLU mask) between its last forward
     * use and its first backward read, as the lowering does: encoded after the last forward use, decoded before the
     * first backward read; the codec's time on the compute stream is the cost.
     */
    void allowCompression() {
        compression = true;
    }

    long pos(int step, int slotIndex) {
        return step * stride + slotIndex;
    }

    int stageOf(long position) {
        return (int) (position / stride);
    }

    /** Variables in the built model, and how many of them the hint gives a value. */
    int[] hintCoverage() {
        return new int[]{model.getBuilder().getVariablesCount(), model.getBuilder().getSolutionHint().getVarsCount()};
    }

    int candidateCount() {
        int c = 0;
        for (boolean b : cand) if (b) c++;
        return c;
    }

    /**
     * Bytes the plan does not decide, from the start plan's lowering without the candidates' buffers: at each
     * step, and between a step and the one before (where re-runs go): the buffers live across that boundary.
     */
    private void fixedMemory() {
        ExecutionSchedule es = Lowering.lower(start, ctx.device);
        int size = es.size();
        int[] computePos = new int[s.stepCount()];
        for (Instr in : es.instrs()) if (in.kind() == InstrKind.COMPUTE) computePos[in.step()] = in.pos();
        long[] diff = new long[size + 1];
        long[] crossDiff = new long[s.stepCount() + 1];
        for (Buffer b : es.buffers()) {
            if (b.tensor() >= 0 && cand[b.tensor()]) continue;
            for (int k = 0; k < b.segStart().length; k++) {
                int a = b.segStart()[k], e = b.segEnd()[k];
                diff[a] += b.bytes();
                diff[e + 1] -= b.bytes();
                // Boundaries y (between step y-1 and y) with computePos[y-1] >= a and computePos[y] <= e.
                int y0 = firstAtOrAfter(computePos, a) + 1, y1 = lastAtOrBefore(computePos, e);
                if (y0 <= y1) {
                    crossDiff[y0] += b.bytes();
                    crossDiff[y1 + 1] -= b.bytes();
                }
            }
        }
        long[] live = new long[size];
        long acc = 0;
        for (int i = 0; i < size; i++) live[i] = acc += diff[i];
        fixedAt = new long[s.stepCount()];
        fixedBefore = new long[s.stepCount()];
        acc = 0;
        for (int y = 0; y < s.stepCount(); y++) {
            acc += crossDiff[y];
            fixedAt[y] = live[computePos[y]];
            long gap = y == 0 ? 0 : acc;
            for (int p = y == 0 ? 0 : computePos[y - 1] + 1; p < computePos[y]; p++) gap = Math.max(gap, live[p]);
            fixedBefore[y] = gap;
            // what a device of a parallel job holds besides the tensors (the simulator counts the last step's)
            // and, conservatively, every in-flight copy of a pipeline stage's other micro-batches
            fixedAt[y] += s.heldBytes(y) + inFlight(y);
            fixedBefore[y] += s.heldBytes(Math.max(0, y - 1)) + inFlight(Math.max(0, y - 1));
        }
    }

    private long inFlight(int step) {
        InFlightCopies f = s.inFlight();
        if (f == null || !f.during(step)) return 0;
        long b = 0;
        for (int t = 0; t < s.tensorCount(); t++) b += f.bytes(t);
        return b;
    }

    private static int firstAtOrAfter(int[] sorted, int v) {
        int i = Arrays.binarySearch(sorted, v);
        return i >= 0 ? i : -i - 1;
    }

    private static int lastAtOrBefore(int[] sorted, int v) {
        int i = Arrays.binarySearch(sorted, v);
        return i >= 0 ? i : -i - 2;
    }

    long fixedPeak() {
        long p = 0;
        for (int y = 0; y < s.stepCount(); y++) p = Math.max(p, Math.max(fixedAt[y], fixedBefore[y]));
        return p;
    }

    /** Builds the model; {@code budget} < 0: the capacity is a variable (to be minimised). */
    void build(long budget, long capacityUpper) {
        build(budget, capacityUpper, Deadline.after(Double.MAX_VALUE / 1e10));
    }

    /**
     * As above, checking {@code until} as it goes: throws {@link Deadline.Passed} once it has passed. The cuts get at
     * most a quarter of the time left when they start (fewer cuts: a weaker bound, the same problem).
     */
    void build(long budget, long capacityUpper, Deadline until) {
        deadline = until;
        loadSolver();
        model = new CpModel();
        helpers.clear();
        runLen.clear();
        capacity = budget >= 0 ? null : model.newIntVar(0, capacityUpper, "capacity");
        CumulativeConstraint mem = budget >= 0 ? model.addCumulative(budget) : model.addCumulative(capacity);
        for (int y = 0; y < s.stepCount(); y++) {
            if (fixedBefore[y] > 0)
                mem.addDemand(model.newFixedInterval(pos(y, 0), stride - 1, "g" + y), fixedBefore[y]);
            if (fixedAt[y] > 0) mem.addDemand(model.newFixedInterval(pos(y, (int) stride - 1), 1, "s" + y), fixedAt[y]);
        }
        List<LinearArgument> costTerms = new ArrayList<>();
        List<Long> costCoeffs = new ArrayList<>();
        for (Node p : nodes) {
            deadline.check("while building the model");
            Window win = runWindow.get(p.index());
            int runs = win.isEmpty() ? 0 : Math.min(maxRuns, win.size());
            long first = runs == 0 ? 0 : firstRunPos(p), lastRun = runs == 0 ? 0 : lastRunPos(p);
            Domain stages = runs == 0 ? null : stageDomain(win);
            BoolVar[] pr = new BoolVar[runs];
            IntVar[] rp = new IntVar[runs];
            IntVar[] rs = new IntVar[runs];
            long scratch = scratchBytes(p);
            long price = Math.max(1, Math.round(ctx.recomputeSeconds(p) * PICO));
            for (int j = 0; j < runs; j++) {
                pr[j] = model.newBoolVar(p.name() + "#run" + j);
                // position = stage x stride + slot: the stage's domain is a few intervals, the position's one
                rs[j] = model.newIntVarFromDomain(stages, p.name() + "#stage" + j);
                rp[j] = model.newIntVar(first, lastRun, p.name() + "#at" + j);
                model.addEquality(LinearExpr.newBuilder().add(rp[j]).addTerm(rs[j], -stride).build(), slot[p.index()]);
                if (j > 0) {
                    model.addImplication(pr[j], pr[j - 1]);
                    model.addGreaterOrEqual(LinearExpr.newBuilder().add(rp[j]).addTerm(rp[j - 1], -1).build(), stride)
                            .onlyEnforceIf(pr[j]);
                }
                if (scratch > 0)
                    mem.addDemand(model.newOptionalIntervalVar(rp[j], LinearExpr.constant(1),
                            LinearExpr.affine(rp[j], 1, 1), pr[j], p.name() + "#scratch" + j), scratch);
                costTerms.add(pr[j]);
                costCoeffs.add(price);
            }
            present.put(p.index(), pr);
            runPos.put(p.index(), rp);
            runStage.put(p.index(), rs);
            long born = pos(s.forwardStep(p.index()), (int) stride - 1);
            for (int o : outsOf.get(p.index())) {
                long last = pos(ctx.uses.lastUse(o), (int) stride - 1);
                for (Node c : readers.get(o)) {
                    if (!runWindow.get(c.index()).isEmpty()) last = Math.max(last, lastRunPos(c));
                }
                if (runs > 0) last = Math.max(last, lastRun); // a copy nothing reads ends at its re-run
                long minEnd0 = pos(ctx.uses.lastForwardUse(o), (int) stride - 1) + 1;
                IntVar[] e = new IntVar[runs + 1];
                e[0] = model.newIntVar(minEnd0, Math.max(minEnd0, last + 1), s.tensor(o).name() + "#end0");
                long bytes = s.tensor(o).bytes();
                mem.addDemand(model.newIntervalVar(LinearExpr.constant(born), LinearExpr.affine(e[0], 1, -born), e[0],
                        s.tensor(o).name() + "#fwd"), bytes);
                boolean readLater = ctx.uses.firstBackwardUse(o) >= 0 || !readers.get(o).isEmpty();
                for (int j = 0; j < runs; j++) {
                    String name = s.tensor(o).name();
                    e[j + 1] = model.newIntVar(first + 1, Math.max(first + 1, last + 1), name + "#end" + (j + 1));
                    // CP-SAT intervals take one variable per expression: the size is its own variable.
                    IntVar size = model.newIntVar(1, Math.max(1, last + 1 - first), s.tensor(o).name() + "#len" + j);
                    runLen.computeIfAbsent(o, k -> new IntVar[runs])[j] = size;
                    model.addEquality(LinearExpr.newBuilder().add(rp[j]).add(size).build(), e[j + 1]);
                    if (!readLater) model.addEquality(size, 1);
                    mem.addDemand(model.newOptionalIntervalVar(rp[j], size, e[j + 1], pr[j], name + "#re" + j), bytes);
                    // Each copy is gone before the next re-run writes a new one.
                    model.addLessOrEqual(e[j], rp[j]).onlyEnforceIf(pr[j]);
                }
                ends.put(o, e);
            }
        }
        List<IntervalVar> copies = new ArrayList<>();
        List<LinearArgument> stallTerms = new ArrayList<>();
        if (swaps) swapOptions(mem, copies, stallTerms);
        if (compression) compressOptions(mem, costTerms, costCoeffs);
        // Every backward read of a candidate lies in one of its intervals.
        for (Node p : nodes)
            for (int o : outsOf.get(p.index())) {
                deadline.check("while building the model");
                BoolVar[] pr = present.get(p.index());
                IntVar[] rp = runPos.get(p.index());
                IntVar[] e = ends.get(o);
                for (int y : ctx.uses.uses(o)) {
                    if (s.step(y).phase() != Phase.BACKWARD) continue;
                    long q = pos(y, (int) stride - 1);
                    List<Literal> any = new ArrayList<>();
                    int e0 = e[0].getIndex();
                    BoolVar c0 = helper(v -> v[e0] >= q + 1);
                    model.addGreaterOrEqual(e[0], q + 1).onlyEnforceIf(c0);
                    any.add(c0);
                    BoolVar w = swapped.get(o);
                    if (w != null && q >= pos(swapSteps.get(o)[2] + 1, 0)) any.add(w);
                    BoolVar z = compressed.get(o);
                    if (z != null) any.add(z); // decoded before its first backward read, kept to the last
                    for (int j = 0; j < pr.length; j++) {
                        if (rp[j].getDomain().min() > q) continue;
                        int pj = pr[j].getIndex(), rj = rp[j].getIndex(), ej = e[j + 1].getIndex();
                        BoolVar cj = helper(v -> v[pj] == 1 && v[rj] <= q && v[ej] >= q + 1);
                        model.addImplication(cj, pr[j]);
                        model.addLessOrEqual(rp[j], q).onlyEnforceIf(cj);
                        model.addGreaterOrEqual(e[j + 1], q + 1).onlyEnforceIf(cj);
                        any.add(cj);
                    }
                    model.addBoolOr(any.toArray(new Literal[0]));
                }
                // Every re-run of a consumer reads it from one of its intervals.
                for (Node c : readers.get(o)) {
                    BoolVar[] cpr = present.get(c.index());
                    IntVar[] crp = runPos.get(c.index());
                    for (int k = 0; k < cpr.length; k++) {
                        List<Literal> any = new ArrayList<>();
                        any.add(cpr[k].not());
                        int e0 = e[0].getIndex(), ck = crp[k].getIndex();
                        BoolVar d0 = helper(v -> v[e0] - v[ck] >= 1);
                        model.addGreaterOrEqual(LinearExpr.newBuilder().add(e[0]).addTerm(crp[k], -1).build(), 1)
                                .onlyEnforceIf(d0);
                        any.add(d0);
                        for (int j = 0; j < pr.length; j++) {
                            int pj = pr[j].getIndex(), rj = rp[j].getIndex(), ej = e[j + 1].getIndex();
                            BoolVar dj = helper(v -> v[pj] == 1 && v[rj] <= v[ck] && v[ej] - v[ck] >= 1);
                            model.addImplication(dj, pr[j]);
                            model.addLessOrEqual(rp[j], crp[k]).onlyEnforceIf(dj);
                            LinearExpr after = LinearExpr.newBuilder().add(e[j + 1]).addTerm(crp[k], -1).build();
                            model.addGreaterOrEqual(after, 1).onlyEnforceIf(dj);
                            any.add(dj);
                        }
                        model.addBoolOr(any.toArray(new Literal[0]));
                    }
                }
            }
        if (!copies.isEmpty()) model.addNoOverlap(copies);
        for (LinearArgument st : stallTerms) {
            costTerms.add(st);
            costCoeffs.add(1L);
        }
        long[] coeffs = costCoeffs.stream().mapToLong(Long::longValue).toArray();
        cost = LinearExpr.weightedSum(costTerms.toArray(new LinearArgument[0]), coeffs);
        long c0 = System.nanoTime();
        stepCuts(budget, deadline.part(0.25));
        cutSeconds = (System.nanoTime() - c0) / 1e9;
        deadline.check("while adding the cuts");
        lpBound = null;
        if (budget >= 0 && !swaps && !compression && timeIndexedLp) boundByTimeIndexedLp(budget, deadline.part(0.4));
    }

    private TimeIndexedBound.Result lpBound;
    // Off by default: it moved the proven bound by 0-2% for 1-18 s of the limit (docs/planners.md)
    private boolean timeIndexedLp = Boolean.getBoolean("memplan.lpBound");

    /** Bounds the cost by the time-indexed LP too ({@code -Dmemplan.lpBound=true} does it for every model). */
    void allowTimeIndexedBound() {
        timeIndexedLp = true;
    }

    /** The last build's time-indexed LP bound (null when none was tried). */
    TimeIndexedBound.Result lpBound() {
        return lpBound;
    }

    /**
     * The time-indexed LP's bound ({@link TimeIndexedBound}) as a constraint on the cost: valid by weak duality, so
     * CP-SAT's proven bound starts from it. Lowered by a part in 10^9 against rounding in the dual sums.
     */
    private void boundByTimeIndexedLp(long budget, Deadline until) {
        try {
            lpBound = timeIndexedBound(budget, until, true);
        } catch (Deadline.Passed e) {
            return; // no bound in time: the model is the same without it
        }
        long floor = (long) Math.floor(lpBound.bound() * (1 - 1e-9));
        if (floor > 0) model.addGreaterOrEqual(cost, floor);
    }

    /**
     * The time-indexed LP's bound on this (built) model's cost, in picoseconds; {@code inputRows} false leaves the
     * input-availability rows out (for comparing, in tests).
     */
    TimeIndexedBound.Result timeIndexedBound(long budget, Deadline until, boolean inputRows) {
        Map<Integer, Integer> opOf = new TreeMap<>();
        for (Node p : nodes) opOf.put(p.index(), opOf.size());
        List<TimeIndexedBound.Op> ops = new ArrayList<>();
        for (Node p : nodes) {
            Window w = runWindow.get(p.index());
            int[] stages = new int[w.size()];
            for (int i = 0; i < stages.length; i++) stages[i] = backward[w.from() + i];
            ops.add(new TimeIndexedBound.Op(Math.max(1, Math.round(ctx.recomputeSeconds(p) * PICO)),
                    present.get(p.index()).length, stages));
        }
        List<TimeIndexedBound.Tensor> tensors = new ArrayList<>();
        for (Node p : nodes)
            for (int o : outsOf.get(p.index())) {
                int lastF = ctx.uses.lastForwardUse(o), horizon = lastF;
                List<Integer> reads = new ArrayList<>();
                for (int y : ctx.uses.uses(o))
                    if (y > lastF && s.step(y).phase() == Phase.BACKWARD) {
                        reads.add(y);
                        horizon = Math.max(horizon, y);
                    }
                List<Integer> rd = new ArrayList<>();
                for (Node c : readers.get(o)) {
                    if (present.get(c.index()).length == 0) continue;
                    rd.add(opOf.get(c.index()));
                    horizon = Math.max(horizon, backward[runWindow.get(c.index()).to()] - 1);
                }
                tensors.add(new TimeIndexedBound.Tensor(opOf.get(p.index()), s.tensor(o).bytes(),
                        s.forwardStep(p.index()), lastF, reads.stream().mapToInt(Integer::intValue).toArray(),
                        rd.stream().mapToInt(Integer::intValue).toArray(), horizon));
            }
        long[] room = new long[s.stepCount()];
        for (int y = 0; y < room.length; y++) room[y] = budget - fixedAt[y];
        return TimeIndexedBound.solve(ops, tensors, room, until, inputRows);
    }

    /** Seconds the last build spent on the per-step cuts, and how many steps got one. */
    double cutSeconds() {
        return cutSeconds;
    }

    int cutSteps() {
        return cutSteps;
    }

    /** At most this many terms in the per-step cuts (their steps are chosen by how far over the budget they are). */
    static final long CUT_TERMS = 400_000;

    /**
     * Redundant per-step knapsack cuts that give the LP a real bound (the cumulative's relaxation alone proves
     * almost nothing): at step y every candidate that backward reads after y is either held at y or its producer
     * re-runs at least once, so the bytes of the candidates whose producer never re-runs, plus what y must hold
     * anyway, fit the budget. Steps where keeping everything would be over the budget by most come first.
     */
    private void stepCuts(long budget, Deadline until) {
        cutSteps = 0;
        int steps = s.stepCount();
        long[] forced = new long[steps + 1], pending = new long[steps + 1];
        long[] count = new long[steps + 1];
        List<int[]> pend = new ArrayList<>(); // {tensor, node}
        for (Node p : nodes)
            for (int o : outsOf.get(p.index())) {
                long b = s.tensor(o).bytes();
                int born = s.forwardStep(p.index()), lastF = ctx.uses.lastForwardUse(o), last = ctx.uses.lastUse(o);
                boolean runs = present.get(p.index()).length > 0;
                if (!runs || ctx.uses.firstBackwardUse(o) < 0) { // held from its write to its last read
                    forced[born] += b;
                    forced[Math.max(lastF, last) + 1] -= b;
                    continue;
                }
                forced[born] += b;
                forced[lastF + 1] -= b;
                pending[lastF + 1] += b;
                pending[last] -= b;
                count[lastF + 1]++;
                count[last]--;
                for (int y : ctx.uses.uses(o))
                    if (y > lastF) {
                        forced[y] += b;
                        forced[y + 1] -= b;
                        if (y < last) {
                            pending[y] -= b;
                            pending[y + 1] += b;
                            count[y]--;
                            count[y + 1]++;
                        }
                    }
                pend.add(new int[]{o, p.index()});
            }
        // A candidate only re-runs read (BatchNorm's output under a ReLU) is either held from forward until the
        // first stage where a reader may re-run, or its own producer re-runs too: h says which.
        Map<Integer, BoolVar> heldOn = new TreeMap<>();
        Map<Integer, Integer> heldUntil = new TreeMap<>();
        for (Node p : nodes)
            for (int i : outsOf.get(p.index())) {
                if (ctx.uses.firstBackwardUse(i) >= 0 || readers.get(i).isEmpty()) continue;
                long first = Long.MAX_VALUE;
                for (Node c : readers.get(i)) {
                    if (!runWindow.get(c.index()).isEmpty()) first = Math.min(first, firstRunPos(c));
                }
                if (first == Long.MAX_VALUE) continue;
                IntVar e0 = ends.get(i)[0];
                int ei = e0.getIndex();
                long at = first;
                BoolVar h = helper(v -> v[ei] >= at + 1);
                model.addGreaterOrEqual(e0, first + 1).onlyEnforceIf(h);
                model.addLessOrEqual(e0, first).onlyEnforceIf(h.not());
                BoolVar[] own = present.get(p.index());
                for (Node c : readers.get(i)) {
                    BoolVar[] cr = present.get(c.index());
                    if (cr.length == 0) continue;
                    LinearExprBuilder need = LinearExpr.newBuilder().add(h);
                    if (own.length > 0) need.add(own[0]);
                    model.addGreaterOrEqual(need.addTerm(cr[0], -1), 0);
                }
                heldOn.put(i, h);
                heldUntil.put(i, stageOf(first));
            }
        long f = 0, q = 0, c = 0;
        long[] hold = new long[steps], over = new long[steps], terms = new long[steps];
        Integer[] order = new Integer[steps];
        for (int y = 0; y < steps; y++) {
            f += forced[y];
            q += pending[y];
            c += count[y];
            hold[y] = Math.max(fixedAt[y], 0) + f;
            over[y] = hold[y] + q - (budget >= 0 ? budget : 0);
            terms[y] = c;
            order[y] = y;
        }
        Arrays.sort(order, (a, b) -> Long.compare(over[b], over[a]));
        long used = 0;
        for (int y : order) {
            if (until.passed()) break; // the most needed steps have their cuts; the rest would only tighten the LP
            if (terms[y] == 0 || budget >= 0 && over[y] <= 0 || used + terms[y] > CUT_TERMS) continue;
            used += terms[y];
            cutSteps++;
            // bytes of the pending candidates per producer: sum bytes * (1 - ran) <= room
            Map<Integer, Long> byNode = new TreeMap<>();
            long all = 0;
            for (int[] tp : pend) {
                int o = tp[0];
                if (!pendingAt(o, y)) continue;
                long b = s.tensor(o).bytes();
                byNode.merge(tp[1], b, Long::sum);
                all += b;
            }
            LinearExprBuilder lhs = LinearExpr.newBuilder();
            for (Map.Entry<Integer, Long> e : byNode.entrySet())
                lhs.addTerm(present.get(e.getKey())[0], -e.getValue());
            // Swaps that free a tensor at y: their transfers out all lie before y, and in after it, on one copy
            // stream, so their total time fits the time before (after) y plus their stalls.
            LinearExprBuilder outs = LinearExpr.newBuilder(), ins = LinearExpr.newBuilder();
            double earliest = Double.MAX_VALUE, latest = 0;
            boolean anySwap = false;
            for (Map.Entry<Integer, BoolVar> e : swapped.entrySet()) {
                int[] st = swapSteps.get(e.getKey());
                if (y > st[1] && y <= st[2] && pendingAt(e.getKey(), y)) {
                    lhs.addTerm(e.getValue(), -s.tensor(e.getKey()).bytes());
                    long d = swapPico.get(e.getKey());
                    IntVar[] stall = swapStalls.get(e.getKey());
                    outs.addTerm(e.getValue(), d).addTerm(stall[0], -1);
                    ins.addTerm(e.getValue(), d).addTerm(stall[1], -1);
                    earliest = Math.min(earliest, stepEnd[st[0]]);
                    latest = Math.max(latest, stepEnd[st[3] - 1]);
                    anySwap = true;
                }
            }
            // A compressed tensor holds only its encoded bytes between the encode and the decode.
            for (Map.Entry<Integer, BoolVar> e : compressed.entrySet()) {
                int[] win = compressWindow.get(e.getKey());
                if (y > win[0] && y < win[1] && pendingAt(e.getKey(), y)) {
                    int t = e.getKey();
                    long eb = codecOf.get(t).encodedBytes(s.tensor(t).shape().numel(), 1.0);
                    lhs.addTerm(e.getValue(), -(s.tensor(t).bytes() - eb));
                }
            }
            if (anySwap) {
                model.addLessOrEqual(outs, Math.round((stepEnd[y - 1] - earliest) * PICO));
                model.addLessOrEqual(ins, Math.round((latest - stepEnd[y - 1]) * PICO));
            }
            for (Map.Entry<Integer, BoolVar> e : heldOn.entrySet())
                if (y > ctx.uses.lastForwardUse(e.getKey()) && y < heldUntil.get(e.getKey()))
                    lhs.addTerm(e.getValue(), s.tensor(e.getKey()).bytes());
            if (budget >= 0) model.addLessOrEqual(lhs, budget - hold[y] - all);
            else model.addLessOrEqual(lhs.addTerm(capacity, -1), -hold[y] - all);
        }
    }

    /** Whether a candidate is neither being written nor read at step y but still read later in backward. */
    private boolean pendingAt(int o, int y) {
        int lastF = ctx.uses.lastForwardUse(o), last = ctx.uses.lastUse(o);
        if (y <= lastF || y >= last || ctx.uses.firstBackwardUse(o) < 0) return false;
        return Arrays.binarySearch(ctx.uses.uses(o), y) < 0;
    }

    /**
     * A swap per candidate whose idle window (last forward use to first backward use) leaves room: the forward copy
     * is held until the release, a second copy from the swap-in to the last use; neither its producer nor an op that
     * reads it is then re-run.
     * Copy-stream intervals are in picoseconds of the baseline's steps; each may end late by a stall, which costs.
     */
    private void swapOptions(CumulativeConstraint mem, List<IntervalVar> copies, List<LinearArgument> stalls) {
        double[] endOf = new double[s.stepCount()];
        double acc = 0;
        for (int y = 0; y < s.stepCount(); y++) endOf[y] = acc += ctx.stepSeconds(y);
        stepEnd = endOf;
        long horizon = Math.round(acc * PICO) * 2 + 1;
        for (Node p : nodes)
            for (int o : outsOf.get(p.index())) {
                int out = ctx.uses.lastForwardUse(o), in = ctx.uses.firstBackwardUse(o);
                if (in < 0 || in <= out + 2) continue;
                long bytes = s.tensor(o).bytes();
                double transfer = ctx.device.transferSeconds(bytes);
                int prefetch = in - 1;
                double hidden = 0;
                while (prefetch > out && hidden < transfer) hidden += ctx.stepSeconds(prefetch--);
                int release = out;
                double behind = 0;
                while (release < prefetch && behind < transfer) behind += ctx.stepSeconds(++release);
                if (prefetch <= release) continue; // nothing freed between the release and the swap-in
                String name = s.tensor(o).name();
                BoolVar w = model.newBoolVar(name + "#swap");
                // A re-run never reads a swapped tensor (the plan validator's rule: it may be on the host then).
                noRerunsWith(w, p, o);
                long releasedAt = pos(release, (int) stride - 1) + 1;
                model.addGreaterOrEqual(ends.get(o)[0], releasedAt).onlyEnforceIf(w);
                long inAt = pos(prefetch + 1, 0), lastAt = pos(ctx.uses.lastUse(o), (int) stride - 1) + 1;
                mem.addDemand(model.newOptionalFixedSizeIntervalVar(LinearExpr.constant(inAt), lastAt - inAt, w,
                        name + "#in"), bytes);
                long d = Math.max(1, Math.round(transfer * PICO));
                // swap-out: after step out, done by the release (or the release waits: a stall)
                long outStart = Math.round(endOf[out] * PICO);
                IntVar so = model.newIntVar(outStart, horizon, name + "#outAt");
                IntVar stallOut = model.newIntVar(0, horizon, name + "#outStall");
                model.addLessOrEqual(LinearExpr.newBuilder().add(so).addTerm(stallOut, -1).build(),
                        Math.round(endOf[release] * PICO) - d).onlyEnforceIf(w);
                copies.add(model.newOptionalFixedSizeIntervalVar(so, d, w, name + "#outCopy"));
                // swap-in: after step prefetch, done before step in starts (or it waits)
                IntVar si = model.newIntVar(Math.round(endOf[prefetch] * PICO), horizon, name + "#inAt");
                IntVar stallIn = model.newIntVar(0, horizon, name + "#inStall");
                model.addLessOrEqual(LinearExpr.newBuilder().add(si).addTerm(stallIn, -1).build(),
                        Math.round(endOf[in - 1] * PICO) - d).onlyEnforceIf(w);
                copies.add(model.newOptionalFixedSizeIntervalVar(si, d, w, name + "#inCopy"));
                model.addEquality(stallOut, 0).onlyEnforceIf(w.not());
                model.addEquality(stallIn, 0).onlyEnforceIf(w.not());
                stalls.add(stallOut);
                stalls.add(stallIn);
                swapped.put(o, w);
                swapSteps.put(o, new int[]{out, release, prefetch, in});
                swapStalls.put(o, new IntVar[]{stallOut, stallIn});
                swapPico.put(o, d);
            }
    }

    /** With {@code choice}, neither o's producer p nor an op reading o re-runs (their first re-run is off). */
    private void noRerunsWith(BoolVar choice, Node p, int o) {
        BoolVar[] pr = present.get(p.index());
        if (pr.length > 0) model.addImplication(choice, pr[0].not());
        for (Node c : readers.get(o)) {
            BoolVar[] cr = present.get(c.index());
            if (cr.length > 0) model.addImplication(choice, cr[0].not());
        }
    }

    /**
     * Lossless compression per candidate a codec fits (the 1-bit mask of a ReLU output only ReLU and MaxPool backward
     * read) with an idle window between its last forward use and its first backward read: the full copy lives until
     * the encode right after the last forward use, the encoded bytes until the decode before the first backward read,
     * a decoded copy from there to the last read. Neither its producer nor an op reading it is re-run then (the plan
     * validator's rule), nor is it swapped. Encode and decode each cost the codec's time over both buffers.
     */
    private void compressOptions(CumulativeConstraint mem, List<LinearArgument> costTerms, List<Long> costCoeffs) {
        for (Node p : nodes)
            for (int o : outsOf.get(p.index())) {
                int out = ctx.uses.lastForwardUse(o), in = ctx.uses.firstBackwardUse(o);
                if (in < 0 || in <= out + 1 || !ctx.saved(o)) continue;
                Codec codec = Greedy.codecFor(ctx, o, false);
                if (codec == null) continue;
                long bytes = s.tensor(o).bytes();
                long eb = codec.encodedBytes(s.tensor(o).shape().numel(), 1.0);
                if (eb >= bytes) continue;
                String name = s.tensor(o).name();
                BoolVar z = model.newBoolVar(name + "#compress");
                noRerunsWith(z, p, o);
                BoolVar w = swapped.get(o);
                if (w != null) model.addImplication(z, w.not());
                // The encode runs in the first slot after the last forward use; the decode in the last slot
                // before the first backward read, after that step's re-runs.
                long encAt = pos(out + 1, 0), decAt = pos(in, (int) stride - 2);
                model.addEquality(ends.get(o)[0], encAt + 1).onlyEnforceIf(z);
                mem.addDemand(model.newOptionalFixedSizeIntervalVar(LinearExpr.constant(encAt), decAt + 1 - encAt, z,
                        name + "#encoded"), eb);
                long lastAt = pos(ctx.uses.lastUse(o), (int) stride - 1) + 1;
                mem.addDemand(model.newOptionalFixedSizeIntervalVar(LinearExpr.constant(decAt), lastAt - decAt, z,
                        name + "#decoded"), bytes);
                costTerms.add(z);
                costCoeffs.add(Math.max(1, Math.round(2 * ctx.device.codecSeconds(bytes + eb) * PICO)));
                compressed.put(o, z);
                codecOf.put(o, codec);
                compressWindow.put(o, new int[]{out, in});
            }
    }

    /** Bytes a re-run writes that no interval holds: its workspace and the outputs this model does not decide. */
    private long scratchBytes(Node p) {
        long b = 0;
        int ws = s.step(s.forwardStep(p.index())).workspace();
        if (ws >= 0) b += s.tensor(ws).bytes();
        for (int o : p.outputs()) if (!cand[s.tensorOfValue(o)]) b += s.tensor(s.tensorOfValue(o)).bytes();
        for (int a : p.aux()) if (!cand[s.tensorOfValue(a)]) b += s.tensor(s.tensorOfValue(a)).bytes();
        return b;
    }

    void minimizeCost() {
        model.minimize(cost);
    }

    void minimizeCapacity() {
        model.minimize(capacity);
    }

    /**
     * Hints the solver with a complete solution from a plan (the greedy's): the stages where its lowering re-runs
     * each node, and where each copy of a candidate ends in the same plan with those re-runs made explicit.
     * Returns false (and hints nothing) if the plan needs more re-runs of an op than the model allows.
     */
    boolean hint(Plan p) {
        Map<Integer, TreeSet<Integer>> stages = reruns(Lowering.lower(p, ctx.device));
        for (Node n : nodes) {
            TreeSet<Integer> st = stages.get(n.index());
            if (st == null) continue;
            if (st.size() > present.get(n.index()).length) return false;
            for (int b : st)
                if (!mayRunAt(n, b)) return false;
        }
        ExecutionSchedule es = Lowering.lower(planFor(stages, p.planner()), ctx.device);
        long[] axis = new long[es.size()];
        int next = s.stepCount() - 1;
        for (int i = es.size() - 1; i >= 0; i--) {
            Instr in = es.instrs().get(i);
            if (in.kind() == InstrKind.COMPUTE) next = in.step();
            axis[i] = in.kind() == InstrKind.RECOMPUTE ? pos(next, slot[in.node()]) : pos(next, (int) stride - 1);
        }
        // Each copy's end, by the position where it was written (the forward copy: its forward step).
        Map<Integer, Map<Long, Long>> copyEnds = new TreeMap<>();
        for (Buffer b : es.buffers())
            if (b.tensor() >= 0 && cand[b.tensor()])
                copyEnds.computeIfAbsent(b.tensor(), k -> new TreeMap<>()).put(axis[b.start()], axis[b.end()] + 1);
        // Every variable gets a value, so the hint is a complete solution: decisions and copy ends from the plan,
        // absent re-runs at their first position with a one-slot copy, helper literals by what they stand for,
        // transfers, stalls and the rest at their least value (nothing swapped or compressed), the capacity at its
        // most.
        int count = model.getBuilder().getVariablesCount();
        long[] v = new long[count];
        boolean[] set = new boolean[count];
        for (Node n : nodes) {
            BoolVar[] pr = present.get(n.index());
            IntVar[] rp = runPos.get(n.index()), rs = runStage.get(n.index());
            List<Integer> st = new ArrayList<>(stages.getOrDefault(n.index(), new TreeSet<>()));
            for (int j = 0; j < pr.length; j++) {
                boolean on = j < st.size();
                int stage = on ? st.get(j) : (int) rs[j].getDomain().min();
                put(v, set, pr[j], on ? 1 : 0);
                put(v, set, rs[j], stage);
                put(v, set, rp[j], pos(stage, slot[n.index()]));
            }
            long born = pos(s.forwardStep(n.index()), (int) stride - 1);
            for (int o : outsOf.get(n.index())) {
                Map<Long, Long> ce = copyEnds.getOrDefault(o, Map.of());
                IntVar[] e = ends.get(o);
                put(v, set, e[0], ce.getOrDefault(born, e[0].getDomain().min()));
                for (int j = 0; j < pr.length; j++) {
                    long at = v[rp[j].getIndex()];
                    long end = j < st.size() && ce.containsKey(at) ? ce.get(at) : at + 1;
                    put(v, set, e[j + 1], end);
                    put(v, set, runLen.get(o)[j], end - at);
                }
            }
        }
        for (BoolVar w : swapped.values()) put(v, set, w, 0);
        for (BoolVar z : compressed.values()) put(v, set, z, 0);
        for (Helper h : helpers) put(v, set, h.literal(), h.holds().test(v) ? 1 : 0);
        if (capacity != null) put(v, set, capacity, capacity.getDomain().max());
        model.clearHints();
        PartialVariableAssignment.Builder hint = model.getBuilder().getSolutionHintBuilder();
        for (int i = 0; i < count; i++)
            hint.addVars(i).addValues(set[i] ? v[i] : model.getBuilder().getVariables(i).getDomain(0));
        return true;
    }

    private static void put(long[] v, boolean[] set, IntVar x, long value) {
        v[x.getIndex()] = value;
        set[x.getIndex()] = true;
    }

    /**
     * For tests: the model's memory at each instruction of a recompute-only plan's lowering (fixed part plus the
     * candidates' copies as the lowering holds them), next to the lowering's own live bytes: {model, lowered}.
     */
    long[][] memoryCheck(Plan explicit) {
        ExecutionSchedule es = Lowering.lower(explicit, ctx.device);
        long[] live = es.liveBytes();
        long[] model = new long[es.size()];
        int next = s.stepCount() - 1;
        for (int i = es.size() - 1; i >= 0; i--) {
            Instr in = es.instrs().get(i);
            if (in.kind() == InstrKind.COMPUTE) {
                next = in.step();
                model[i] = fixedAt[next];
            } else {
                boolean rerun = in.kind() == InstrKind.RECOMPUTE;
                model[i] = fixedBefore[next] + (rerun ? scratchBytes(s.graph().nodes().get(in.node())) : 0);
            }
        }
        for (Buffer b : es.buffers()) {
            if (b.tensor() < 0 || !cand[b.tensor()]) continue;
            for (int i = b.start(); i <= b.end(); i++) model[i] += b.bytes();
        }
        return new long[][]{model, live};
    }

    /** Per node, the steps before which a lowered schedule re-runs it. */
    static Map<Integer, TreeSet<Integer>> reruns(ExecutionSchedule es) {
        Map<Integer, TreeSet<Integer>> out = new TreeMap<>();
        List<Integer> pending = new ArrayList<>();
        for (Instr in : es.instrs()) {
            if (in.kind() == InstrKind.RECOMPUTE) pending.add(in.node());
            else if (in.kind() == InstrKind.COMPUTE) {
                for (int n : pending) out.computeIfAbsent(n, k -> new TreeSet<>()).add(in.step());
                pending.clear();
            }
        }
        return out;
    }

    /** A plan that re-runs each node before the given steps (explicit recomputes for the outputs read later). */
    Plan planFor(Map<Integer, TreeSet<Integer>> stages, String planner) {
        return planFor(stages, new TreeSet<>(), planner);
    }

    /** As above, and the given tensors swapped with the lowering's automatic timings. */
    Plan planFor(Map<Integer, TreeSet<Integer>> stages, TreeSet<Integer> swapOut, String planner) {
        return planFor(stages, swapOut, new TreeSet<>(), planner);
    }

    /** As above, and the given tensors held encoded (lossless) between their forward and backward uses. */
    Plan planFor(Map<Integer, TreeSet<Integer>> stages, TreeSet<Integer> swapOut, TreeSet<Integer> encoded,
                 String planner) {
        Decision[] d = start.decisions();
        for (int t : swapOut) d[t] = Decision.Swap.auto();
        for (int t : encoded) d[t] = new Decision.Compress(codecOf.get(t), 1.0, false);
        // An output is rebuilt if backward reads it or a consumer re-run that is itself rebuilt does; reverse forward
        // order decides consumers first. (A re-run nothing reads is left out; the lowering skips it.)
        boolean[] emitted = new boolean[slot.length];
        for (int k = nodes.size() - 1; k >= 0; k--) {
            Node p = nodes.get(k);
            TreeSet<Integer> st = stages.get(p.index());
            if (st == null || st.isEmpty()) continue;
            for (int o : outsOf.get(p.index())) {
                boolean read = ctx.uses.firstBackwardUse(o) >= 0;
                for (Node c : readers.get(o)) read |= emitted[c.index()];
                if (!read || swapOut.contains(o) || encoded.contains(o)) continue;
                d[o] = new Decision.Recompute(new ArrayList<>(st));
                emitted[p.index()] = true;
            }
        }
        return new Plan(s, d, planner);
    }

    record Outcome(CpSolverStatus status, Map<Integer, TreeSet<Integer>> stages, TreeSet<Integer> swapped,
                   TreeSet<Integer> compressed, double objective, double bound, double wall, long capacity,
                   boolean presolved) {
    }

    Outcome solve(double seconds, double gap, SolveControl control) {
        return solve(Deadline.after(seconds), gap, control);
    }

    /**
     * Seconds of presolve per model variable, a cautious figure: measured 76-124 us on chains of 1 000 to 10 000 ops
     * (3 iterations, 7 s at 5 000 ops and 23 s at 10 000 on a lightly loaded core) and 60 us on ResNet-18.
     */
    static final double PRESOLVE_SECONDS_PER_VARIABLE = 2e-4;

    /**
     * Whether CP-SAT's presolve would eat the time left (the complete hint is a first solution only once it is
     * done): estimated from the model's size, skipped when that passes half the time left.
     */
    boolean presolveTooSlow(double secondsLeft) {
        return presolveEstimate() > secondsLeft / 2;
    }

    private double presolveEstimate() {
        return model.getBuilder().getVariablesCount() * PRESOLVE_SECONDS_PER_VARIABLE;
    }

    /** Searches until {@code until} (presolve included), or the gap target, or a stop. */
    Outcome solve(Deadline until, double gap, SolveControl control) {
        return solve(until, gap, control, false);
    }

    /** For tests: every variable fixed to its hinted value, so the model is feasible iff the hint is a solution. */
    Outcome solveFixedToHint(double seconds) {
        return solve(Deadline.after(seconds), 0, SolveControl.none(), true);
    }

    private Outcome solve(Deadline until, double gap, SolveControl control, boolean fixToHint) {
        double seconds = Math.max(0.01, until.leftSeconds());
        boolean presolve = !presolveTooSlow(seconds);
        CpSolver solver = new CpSolver();
        // The full portfolio (LNS, core-based and LP workers) wants 8 workers, even on fewer cores.
        int workers = Math.max(8, Runtime.getRuntime().availableProcessors());
        // Each full-problem worker loads the whole model first, without looking at the clock (on a 10 000-op chain
        // 20-40 s each, 8 workers on 2 cores): where presolve is skipped for size, one worker per core only.
        if (!presolve) workers = Math.max(1, Runtime.getRuntime().availableProcessors());
        solver.getParameters().setMaxTimeInSeconds(control.stopRequested() ? 0.01 : seconds)
                .setRelativeGapLimit(gap).setNumWorkers(workers);
        // Probing the cuts' long linear constraints took most of a minute on a 1 000-op chain, for nothing found.
        solver.getParameters().setCpModelProbingLevel(0);
        if (!presolve) solver.getParameters().setCpModelPresolve(false);
        if (fixToHint) solver.getParameters().setFixVariablesToTheirHintedValue(true);
        // The warm start hints decisions and copy ends but not the helper literals: let the solver finish it.
        solver.getParameters().setHintConflictLimit(100_000);
        // -Dmemplan.solverLog=true prints CP-SAT's search log to standard error (for tuning the model)
        if (Boolean.getBoolean("memplan.solverLog")) solver.getParameters().setLogSearchProgress(true);
        // -Dmemplan.solverParams="num_workers:4 linearization_level:2" overrides CP-SAT parameters (for tuning)
        String extra = System.getProperty("memplan.solverParams", "");
        if (!extra.isBlank())
            try {
                TextFormat.merge(extra, solver.getParameters());
            } catch (TextFormat.ParseException e) {
                throw new IllegalArgumentException("memplan.solverParams: " + e.getMessage(), e);
            }
        boolean byCapacity = capacity != null;
        double unit = byCapacity ? 1 : PICO;
        CpSolverSolutionCallback cb = new CpSolverSolutionCallback() {
            @Override
            public void onSolutionCallback() {
                if (!byCapacity) control.incumbent(objectiveValue() / unit, bestObjectiveBound() / unit, wallTime());
            }
        };
        // No best-bound callback: called from the solver's threads, the Java binding's (9.12) crashed the JVM
        // ("bad global or local ref passed to JNI") once a complete hint gave a first solution at once; the bound
        // is reported with each new incumbent instead.
        CpSolverStatus st = control.during(solver, () -> solver.solve(model, cb));
        Reference.reachabilityFence(cb); // the native solver calls it until the search is over
        if (st == CpSolverStatus.MODEL_INVALID)
            throw new IllegalStateException("rematerialisation model invalid: " + model.validate());
        Map<Integer, TreeSet<Integer>> stages = new TreeMap<>();
        TreeSet<Integer> swapOut = new TreeSet<>(), encoded = new TreeSet<>();
        long cap = -1;
        if (st == CpSolverStatus.OPTIMAL || st == CpSolverStatus.FEASIBLE) {
            for (Node p : nodes) {
                BoolVar[] pr = present.get(p.index());
                IntVar[] rp = runPos.get(p.index());
                for (int j = 0; j < pr.length; j++)
                    if (solver.booleanValue(pr[j]))
                        stages.computeIfAbsent(p.index(), k -> new TreeSet<>()).add(stageOf(solver.value(rp[j])));
            }
            for (Map.Entry<Integer, BoolVar> e : swapped.entrySet())
                if (solver.booleanValue(e.getValue())) swapOut.add(e.getKey());
            for (Map.Entry<Integer, BoolVar> e : compressed.entrySet())
                if (solver.booleanValue(e.getValue())) encoded.add(e.getKey());
            if (byCapacity) cap = solver.value(capacity);
        }
        double scale = unit;
        boolean found = st == CpSolverStatus.OPTIMAL || st == CpSolverStatus.FEASIBLE;
        double objective = found ? solver.objectiveValue() / scale : Double.NaN;
        return new Outcome(st, stages, swapOut, encoded, objective, solver.bestObjectiveBound() / scale,
                solver.wallTime(), cap, presolve);
    }
}

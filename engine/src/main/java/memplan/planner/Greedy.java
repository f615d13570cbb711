package memplan.planner;

import memplan.backend.Codec;
import memplan.graph.Node;
import memplan.ops.MaxPool2d;
import memplan.ops.ReLU;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.sim.SimResult;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Peak-driven greedy shared by the budget planners (swap, recompute, compress, hybrid). Each round simulates the
 * plan, finds the peak, lists the kept tensors idle there (between their last forward and first backward use), prices
 * each allowed action (swap: transfer time not hidden by the idle gap; recompute: the producer's forward time, zero if
 * it is re-run anyway; compress: encode + decode time) per byte it frees at the peak, and applies the cheapest actions
 * until the excess over the budget is covered. It stops when the plan fits or nothing idle is left at the peak; then
 * it tries to undo actions, dearest per byte first, while the plan still fits and gets no slower.
 */
final class Greedy {
    enum Kind { SWAP, RECOMPUTE, COMPRESS }

    record Action(Kind kind, int[] tensors, Decision[] decisions, Decision[] prev, long freed,
            double cost, int congested) {
        Action(Kind kind, int[] tensors, Decision[] decisions, Decision[] prev, long freed, double cost) {
            this(kind, tensors, decisions, prev, freed, cost, 0);
        }

        double price() {
            return cost / Math.max(1, freed);
        }
    }

    static final int PRUNE_LIMIT = 48;
    private final PlanContext ctx;
    private final Schedule s;
    private final EnumSet<Kind> kinds;
    private final boolean lossy;
    private Decision[] d;
    private int[] readByRecompute;
    private boolean[] overwritten;
    private int[] recomputedOutputs;

    Greedy(PlanContext ctx, EnumSet<Kind> kinds, boolean lossy) {
        this.ctx = ctx;
        this.s = ctx.schedule;
        this.kinds = kinds;
        this.lossy = lossy;
    }

    Plan run(Plan start, long budget, String name) {
        return run(start, budget, name, Cutoff.none(), false);
    }

    /**
     * As {@link #run(Plan, long, String)}, stopping at {@code cutoff} once its best plan fits or {@code fitInHand}
     * (the caller holds a fitting plan already): its rounds (with a budget they end once the plan fits anyway) and
     * its pruning, between simulations.
     */
    Plan run(Plan start, long budget, String name, Cutoff cutoff, boolean fitInHand) {
        Plan cur = ctx.repair(start);
        SimResult r = ctx.simulate(cur);
        Plan best = cur;
        SimResult bestR = r;
        List<Action> history = new ArrayList<>(); // every action applied, for pruning
        for (int round = 0; round < 400; round++) {
            if (budget > Planner.MIN_PEAK && r.peakBytes() <= budget) break;
            if (cutoff.stop("in the greedy's rounds", fitInHand || Cutoff.fits(bestR.peakBytes(), budget))) break;
            load(cur);
            int[] at = ctx.stepAt(r.execution(), r.peakPosition());
            long excess = budget > Planner.MIN_PEAK ? r.peakBytes() - budget : Long.MAX_VALUE;
            List<Action> options = new ArrayList<>();
            for (int t = 0; t < s.tensorCount(); t++) {
                if (!candidate(t, at)) continue;
                Action a = best(t, at);
                if (a != null) options.add(a);
            }
            // Lazy greedy: a swap's price grows once the copy stream is busier than the compute it can hide behind.
            PriorityQueue<Action> queue = new PriorityQueue<>(
                    Comparator.comparingDouble(Action::price)
                            .thenComparing(Comparator.comparingLong(Action::freed).reversed()));
            queue.addAll(options);
            List<Action> applied = new ArrayList<>();
            long freed = 0;
            while (!queue.isEmpty() && freed < excess) {
                Action a = queue.poll();
                if (!stillValid(a, at)) continue;
                if (a.kind() == Kind.SWAP && !(a.prev()[0] instanceof Decision.Swap)) {
                    double c = a.cost() + congestion(s.tensor(a.tensors()[0]).bytes());
                    if (c > a.cost() + 1e-12 && a.congested() == 0) {
                        queue.add(new Action(a.kind(), a.tensors(), a.decisions(), a.prev(), a.freed(), c, 1));
                        continue;
                    }
                    linkLoad += 2 * ctx.device.transferSeconds(s.tensor(a.tensors()[0]).bytes());
                }
                apply(a);
                applied.add(a);
                freed += a.freed();
            }
            if (applied.isEmpty()) break;
            Plan next = ctx.repair(new Plan(s, d, name));
            if (next.equals(cur)) break;
            cur = next;
            r = ctx.simulate(cur);
            history.addAll(applied);
            if (better(r, bestR, budget)) {
                best = cur;
                bestR = r;
            }
        }
        if (budget > Planner.MIN_PEAK && bestR.peakBytes() <= budget)
            return prune(best, bestR, history, budget, name, cutoff);
        return best;
    }

    private static boolean better(SimResult a, SimResult b, long budget) {
        if (budget > Planner.MIN_PEAK) {
            boolean fa = a.peakBytes() <= budget, fb = b.peakBytes() <= budget;
            if (fa != fb) return fa;
            if (fa) return a.iterationSeconds() < b.iterationSeconds();
        }
        if (a.peakBytes() != b.peakBytes()) return a.peakBytes() < b.peakBytes();
        return a.iterationSeconds() < b.iterationSeconds();
    }

    /**
     * Undo actions, dearest per byte first, while the plan still fits and gets no slower: later rounds often make
     * earlier actions unnecessary. At most {@value #PRUNE_LIMIT} simulations.
     */
    private Plan prune(Plan best, SimResult bestSim, List<Action> history, long budget, String name,
                       Cutoff cutoff) {
        PlanContext.Score bestR = PlanContext.Score.of(bestSim);
        List<Action> order = new ArrayList<>(history);
        order.sort(Comparator.comparingDouble(Action::price).reversed());
        int tries = 0;
        for (Action a : order) {
            if (a.cost() <= 0 || tries++ >= PRUNE_LIMIT) continue;
            Decision[] dd = best.decisions();
            boolean same = true;
            for (int k = 0; k < a.tensors().length; k++) {
                same &= dd[a.tensors()[k]].equals(a.decisions()[k]);
                dd[a.tensors()[k]] = a.prev()[k];
            }
            if (!same) continue;
            if (cutoff.stop("in the greedy's pruning", true)) break; // the plan fits: pruning only speeds it up
            Plan p = ctx.repair(new Plan(s, dd, name));
            PlanContext.Score r = ctx.score(p);
            if (r.peakBytes() <= budget && r.iterationSeconds() <= bestR.iterationSeconds()) {
                best = p;
                bestR = r;
            }
        }
        return best;
    }

    private double linkLoad;

    /** Added time of one more swap of this size once the swaps' transfers exceed the iteration's compute time. */
    private double congestion(long bytes) {
        double t = 2 * ctx.device.transferSeconds(bytes);
        double cap = ctx.baselineSeconds();
        return Math.max(0, linkLoad + t - cap) - Math.max(0, linkLoad - cap);
    }

    private void load(Plan p) {
        d = p.decisions();
        linkLoad = 0;
        for (int t = 0; t < d.length; t++)
            if (d[t] instanceof Decision.Swap) linkLoad += 2 * ctx.device.transferSeconds(s.tensor(t).bytes());
        int n = s.tensorCount();
        readByRecompute = new int[n];
        overwritten = new boolean[n];
        recomputedOutputs = new int[s.graph().nodes().size()];
        for (int t = 0; t < n; t++) {
            if (d[t] instanceof Decision.Recompute) markRecompute(t, 1);
            if (d[t] instanceof Decision.Share sh && sh.with() >= 0) overwritten[sh.with()] = true;
        }
    }

    private void markRecompute(int t, int delta) {
        Node n = ctx.producer(t);
        if (n == null) return;
        recomputedOutputs[n.index()] += delta;
        for (int in : n.inputs()) readByRecompute[s.tensorOfValue(in)] += delta;
    }

    private boolean candidate(int t, int[] at) {
        boolean movable = d[t] instanceof Decision.Keep || d[t] instanceof Decision.Swap;
        return movable && !overwritten[t] && ctx.saved(t) && ctx.idleAt(t, at);
    }

    private Action best(int t, int[] at) {
        Action best = null;
        for (Kind k : kinds) {
            Action a = switch (k) {
                case SWAP -> swap(t, at);
                case RECOMPUTE -> recompute(t, at);
                case COMPRESS -> d[t] instanceof Decision.Keep ? compress(t) : null;
            };
            if (a != null && a.freed() > 0 && (best == null || a.price() < best.price())) best = a;
        }
        return best;
    }

    private boolean stillValid(Action a, int[] at) {
        for (int k = 0; k < a.tensors().length; k++) {
            int t = a.tensors()[k];
            if (!d[t].equals(a.prev()[k]) || overwritten[t]) return false;
        }
        Set<Integer> set = new LinkedHashSet<>();
        for (int t : a.tensors()) set.add(t);
        if (a.kind() == Kind.RECOMPUTE) {
            for (int t : a.tensors()) if (!recomputeInputsOk(ctx.producer(t), set) || readByRecompute[t] > 0
                    && !readInside(t, set)) return false;
        } else if (readByRecompute[a.tensors()[0]] > 0) return false;
        return true;
    }

    private void apply(Action a) {
        for (int k = 0; k < a.tensors().length; k++) {
            d[a.tensors()[k]] = a.decisions()[k];
            if (a.kind() == Kind.RECOMPUTE) markRecompute(a.tensors()[k], 1);
        }
    }

    // ---- swap ----

    private Action swap(int t, int[] at) {
        if (readByRecompute[t] > 0) return null;
        int lf = ctx.uses.lastForwardUse(t), fb = ctx.uses.firstBackwardUse(t);
        long bytes = s.tensor(t).bytes();
        double transfer = ctx.device.transferSeconds(bytes);
        int k = at[0];
        int needPre = at[1] == 1 ? k : k + 1; // the swapped-in copy must not exist yet at the peak
        double before = 0;
        int pre;
        if (d[t] instanceof Decision.Swap sw) { // already swapped but prefetched before the peak: issue it later
            if (sw.prefetchAfter() >= needPre) return null;
            before = Math.max(0, transfer - ctx.secondsBetween(sw.prefetchAfter(), fb));
            pre = needPre;
        } else pre = Math.max(needPre, SwapTiming.prefetchAfter(ctx, lf, fb, transfer));
        if (pre >= fb) return null;
        int rel = SwapTiming.releaseAfter(ctx, lf, pre, transfer);
        if (rel >= k) return null;
        double exposed = Math.max(0, transfer - ctx.secondsBetween(pre, fb));
        return new Action(Kind.SWAP, new int[]{t}, new Decision[]{new Decision.Swap(lf, fb, pre)},
                new Decision[]{d[t]}, bytes,
                Math.max(0, exposed - before) + 1e-3 * transfer);
    }

    // ---- recompute ----

    private Action recompute(int t, int[] at) {
        if (s.lossTensor() == t || readByRecompute[t] > 0) return null;
        Set<Integer> set = new LinkedHashSet<>();
        if (!closure(t, at, set, 0)) return null;
        for (int x : set) if (!recomputeInputsOk(ctx.producer(x), set)) return null;
        long freed = 0;
        double cost = 0;
        Set<Integer> nodes = new LinkedHashSet<>();
        for (int x : set) {
            Node n = ctx.producer(x);
            if (nodes.add(n.index()) && recomputedOutputs[n.index()] == 0) cost += ctx.recomputeSeconds(n);
            if (ctx.idleAt(x, at)) freed += s.tensor(x).bytes();
        }
        // Kept inputs whose life the recompute extends past the peak.
        Set<Integer> extended = new LinkedHashSet<>();
        for (int x : set)
            for (int in : ctx.producer(x).inputs()) {
                int ti = s.tensorOfValue(in);
                if (set.contains(ti) || !PlanContext.activation(s.tensor(ti))) continue;
                if (d[ti] instanceof Decision.Recompute) continue;
                if (!liveAt(ti, at) && ctx.uses.lastUse(ti) < at[0] && extended.add(ti)) freed -= s.tensor(ti).bytes();
            }
        if (freed <= 0) return null;
        int[] ts = set.stream().mapToInt(Integer::intValue).toArray();
        Decision[] ds = new Decision[ts.length];
        Arrays.fill(ds, Decision.RECOMPUTE);
        Decision[] prev = new Decision[ts.length];
        for (int i = 0; i < ts.length; i++) prev[i] = d[ts[i]];
        return new Action(Kind.RECOMPUTE, ts, ds, prev, freed, cost);
    }

    private boolean liveAt(int t, int[] at) {
        int fw = ctx.uses.firstWrite(t);
        return fw >= 0 && fw <= at[0] && ctx.uses.lastUse(t) >= at[0];
    }

    /**
     * The tensor plus the inputs of its producer that only a recompute would keep alive past the peak (not read by
     * backward): rebuilding them too keeps the checkpoint at the segment boundary, as in Chen's segments.
     */
    private boolean closure(int t, int[] at, Set<Integer> set, int depth) {
        if (!set.add(t)) return true;
        Node n = ctx.producer(t);
        if (n == null) return false;
        for (int in : n.inputs()) {
            int ti = s.tensorOfValue(in);
            Decision di = d[ti];
            if (di instanceof Decision.Swap || di instanceof Decision.Compress || overwritten[ti]) return false;
            if (set.contains(ti) || di instanceof Decision.Recompute) continue;
            if (readByRecompute[ti] > 0) continue;
            boolean freeable = depth < 3 && ctx.producer(ti) != null
                    && di instanceof Decision.Keep && ti != s.lossTensor()
                    && ctx.uses.firstBackwardUse(ti) < 0 && ctx.uses.lastUse(ti) < at[0];
            if (freeable && !closure(ti, at, set, depth + 1)) return false;
        }
        return true;
    }

    /** Inputs on the device and kept (a checkpoint) or rebuilt by the same action: no long recompute chains. */
    private boolean recomputeInputsOk(Node n, Set<Integer> set) {
        if (n == null) return false;
        for (int in : n.inputs()) {
            int ti = s.tensorOfValue(in);
            Decision di = d[ti];
            if (di instanceof Decision.Swap || di instanceof Decision.Compress || overwritten[ti]) return false;
            if (di instanceof Decision.Recompute && !set.contains(ti)) return false;
        }
        return true;
    }

    /** Whether every recompute that reads t is part of the set (t is only re-read within the action). */
    private boolean readInside(int t, Set<Integer> set) {
        int inside = 0;
        for (int x : set) {
            Node p = ctx.producer(x);
            if (p == null) continue;
            for (int in : p.inputs()) if (s.tensorOfValue(in) == t) inside++;
        }
        return readByRecompute[t] <= inside;
    }

    // ---- compress ----

    private Action compress(int t) {
        if (readByRecompute[t] > 0) return null;
        Codec c = codecFor(ctx, t, lossy);
        if (c == null) return null;
        TensorInfo ti = s.tensor(t);
        long eb = c.encodedBytes(ti.shape().numel(), 1.0);
        long freed = ti.bytes() - eb;
        if (freed <= 0) return null;
        double cost = 2 * ctx.device.codecSeconds(ti.bytes() + eb);
        return new Action(Kind.COMPRESS, new int[]{t}, new Decision[]{new Decision.Compress(c, 1.0, false)},
                new Decision[]{d[t]}, freed, cost);
    }

    /** The codec for a saved activation: 1-bit mask for ReLU outputs only ReLU/MaxPool backward read; fp16 if lossy. */
    static Codec codecFor(PlanContext ctx, int t, boolean lossy) {
        Schedule s = ctx.schedule;
        TensorInfo ti = s.tensor(t);
        if (ti.kind() != TensorKind.ACTIVATION || !ti.dtype().floating) return null;
        Node n = ctx.producer(t);
        if (n == null) return null;
        if (n.op() instanceof ReLU && maskOk(ctx, t, n)) return Codec.MASK_1BIT;
        if (lossy && ti.dtype().bytes > 2) return Codec.FP16;
        return null;
    }

    private static boolean maskOk(PlanContext ctx, int t, Node relu) {
        Schedule s = ctx.schedule;
        for (int st : ctx.uses.uses(t)) {
            Step step = s.step(st);
            if (step.phase() != Phase.BACKWARD) continue;
            Node reader = s.graph().nodes().get(step.node());
            boolean own = reader.index() == relu.index();
            boolean pool = reader.op() instanceof MaxPool2d && s.tensorOfValue(reader.inputs()[0]) == t;
            if (!own && !pool) return false;
        }
        return true;
    }
}

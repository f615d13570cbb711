package memplan.planner;

import memplan.graph.Node;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Lifetime-based memory reuse. In place: the output of ReLU, Add, Dropout, Sigmoid and Tanh takes its input's buffer
 * when that input's last use is this op (forward), and the gradient of input 0 takes the output gradient's buffer
 * when that gradient dies at this backward step. Co-sharing: a tensor takes the buffer of an equally large tensor
 * whose life has ended (same size, so the live bytes and the peak never rise; the allocator's arena shrinks).
 * Only tensors kept by the plan it starts from take part, so it composes after other planners.
 */
public final class SharePlanner implements Planner {
    @Override public String name() { return "share"; }
    @Override public String description() { return "in-place ReLU/Add/Dropout/Sigmoid/Tanh (forward and gradients) "
            + "and reuse of dead equal-size buffers"; }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        // Sharing must never raise the simulated peak (with recomputes, a checkpoint lives longer than its uses say):
        // fall back to in-place only, then to the plan it started from.
        long before = ctx.score(start).peakBytes();
        Plan all = share(start, ctx, true);
        if (ctx.score(all).peakBytes() <= before) return all;
        Plan inPlace = share(start, ctx, false);
        return ctx.score(inPlace).peakBytes() <= before ? inPlace : start;
    }

    private Plan share(Plan start, PlanContext ctx, boolean coShare) {
        Schedule s = ctx.schedule;
        Decision[] d = start.decisions();
        int n = s.tensorCount();
        boolean[] readByRecompute = new boolean[n];
        boolean[] taken = new boolean[n]; // someone already shares this tensor's buffer
        for (int t = 0; t < n; t++) {
            if (d[t] instanceof Decision.Recompute) {
                Node p = ctx.producer(t);
                if (p != null) for (int in : p.inputs()) readByRecompute[s.tensorOfValue(in)] = true;
            }
            if (d[t] instanceof Decision.Share sh && sh.with() >= 0) taken[sh.with()] = true;
        }
        // In place.
        for (Step st : s.steps()) {
            if (st.node() < 0 || st.phase() == Phase.OPTIMIZER) continue;
            Node node = s.graph().nodes().get(st.node());
            if (!node.mayRunInPlace() || node.inputs().length == 0) continue;
            int t, w;
            if (st.phase() == Phase.FORWARD) {
                t = s.tensorOfValue(node.outputs()[0]);
                w = s.tensorOfValue(node.inputs()[0]);
            } else {
                t = s.gradOfValue(node.inputs()[0]);
                w = s.gradOfValue(node.outputs()[0]);
            }
            if (t < 0 || w < 0 || t == w) continue;
            if (!(d[t] instanceof Decision.Keep) || taken[w] || readByRecompute[w]) continue;
            if (!(d[w] instanceof Decision.Keep || d[w] instanceof Decision.Share)) continue;
            if (!reusable(s.tensor(t)) || !reusable(s.tensor(w)) || s.tensor(w).bytes() < s.tensor(t).bytes()) continue;
            if (ctx.uses.lastUse(w) != st.index() || ctx.uses.firstWrite(t) != st.index()) continue;
            d[t] = new Decision.Share(w);
            taken[w] = true;
        }
        // Co-sharing of equal-size buffers: each buffer is a chain of tensors with disjoint lives.
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(ctx.uses::firstWrite));
        // Per buffer: its last occupant and when the buffer is free again.
        int[] root = new int[n];
        long[] end = new long[n];
        for (int t = 0; t < n; t++) root[t] = t;
        for (int t = 0; t < n; t++) end[t] = ctx.uses.lastUse(t);
        for (int t = 0; t < n; t++) if (d[t] instanceof Decision.Share sh) root[t] = root[sh.with()];
        // Buffer end = max over its in-place chain (tensors visited in first-write order, so roots precede).
        for (int t : order) if (root[t] != t) end[root[t]] = Math.max(end[root[t]], ctx.uses.lastUse(t));
        // A buffer holding a tensor that a recompute re-reads lives past that tensor's listed uses: never reuse it.
        boolean[] blocked = new boolean[n];
        for (int t = 0; t < n; t++) if (readByRecompute[t]) blocked[root[t]] = true;
        int[] lastOccupant = new int[n];
        for (int t = 0; t < n; t++) lastOccupant[t] = t;
        for (int t : order) if (root[t] != t) lastOccupant[root[t]] = t;
        Map<Long, List<Integer>> free = new HashMap<>(); // bytes -> buffer roots, in order of release
        List<int[]> pending = new ArrayList<>(); // root buffers not yet released
        boolean[] pooled = new boolean[n];
        for (int t : order) {
            int fw = ctx.uses.firstWrite(t);
            if (fw < 0 || !reusable(s.tensor(t))) continue;
            if (root[t] != t) continue; // part of an in-place chain: its buffer is the root's
            boolean mayJoin = coShare && d[t] instanceof Decision.Keep && !readByRecompute[t] && !blocked[t];
            if (mayJoin) {
                List<Integer> list = free.get(s.tensor(t).bytes());
                int pick = -1;
                if (list != null)
                    for (int i = 0; i < list.size(); i++) {
                        int b = list.get(i);
                        if (end[b] < fw) {
                            pick = i;
                            break;
                        }
                    }
                if (pick >= 0) {
                    int b = list.remove(pick);
                    int with = lastOccupant[b];
                    if (d[with] instanceof Decision.Keep || d[with] instanceof Decision.Share) {
                        d[t] = new Decision.Share(with);
                        taken[with] = true;
                        lastOccupant[b] = lastOccupant[t];
                        end[b] = Math.max(end[b], end[t]);
                        list.add(b);
                        continue;
                    }
                    list.add(b);
                }
            }
            boolean poolable = (d[t] instanceof Decision.Keep) && !readByRecompute[t] && !blocked[t];
            if (poolable && !pooled[t]) {
                pooled[t] = true;
                free.computeIfAbsent(s.tensor(t).bytes(), k -> new ArrayList<>()).add(t);
            }
        }
        return ctx.repair(new Plan(s, d, start.planner()));
    }

    static boolean reusable(TensorInfo t) {
        return t.kind() == TensorKind.ACTIVATION || t.kind() == TensorKind.AUX || t.kind() == TensorKind.ACTIVATION_GRAD
                || t.kind() == TensorKind.WORKSPACE;
    }
}

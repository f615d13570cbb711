package memplan.planner;

import memplan.graph.Node;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.Schedule;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Chen et al. (2016), "Training deep nets with sublinear memory cost": split the forward order into segments of
 * about sqrt(N) ops, keep the outputs of each segment's last op (the checkpoints) and recompute every other
 * activation of the segment during backward (rebuilt recursively from the previous checkpoint). Peak activation
 * memory grows like sqrt(N) for N ops at about one extra forward pass. The budget is not consulted.
 */
public final class CheckpointSqrtPlanner implements Planner {
    @Override public String name() { return "checkpoint-sqrt"; }
    @Override public String description() { return "Chen's sqrt(N) segments: keep segment boundaries, recompute the "
            + "rest"; }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        Schedule s = ctx.schedule;
        List<Node> fwd = new ArrayList<>();
        for (Node n : s.graph().nodes()) if (s.forwardStep(n.index()) >= 0 && n.outputs().length > 0) fwd.add(n);
        fwd.sort(Comparator.comparingInt(n -> s.forwardStep(n.index())));
        int segment = Math.max(1, (int) Math.round(Math.sqrt(fwd.size())));
        return segments(start, ctx, fwd, segment);
    }

    /** Marks every activation of each segment's non-final ops for recompute (only tensors kept by {@code start}). */
    static Plan segments(Plan start, PlanContext ctx, List<Node> fwd, int segment) {
        boolean[] boundary = new boolean[fwd.size()];
        for (int i = 0; i < fwd.size(); i++) boundary[i] = (i + 1) % segment == 0 || i == fwd.size() - 1;
        return segments(start, ctx, fwd, boundary);
    }

    /**
     * Chen's memory-budgeted variant: walk the forward order adding up the bytes each op writes, and end a segment
     * (keep that op's outputs) once the segment holds more than {@code segmentBytes}.
     */
    static Plan segmentsByBytes(Plan start, PlanContext ctx, List<Node> fwd, long segmentBytes) {
        Schedule s = ctx.schedule;
        boolean[] boundary = new boolean[fwd.size()];
        long acc = 0;
        for (int i = 0; i < fwd.size(); i++) {
            Node n = fwd.get(i);
            for (int o : n.outputs()) acc += s.tensor(s.tensorOfValue(o)).bytes();
            for (int a : n.aux()) acc += s.tensor(s.tensorOfValue(a)).bytes();
            if (acc > segmentBytes || i == fwd.size() - 1) {
                boundary[i] = true;
                acc = 0;
            }
        }
        return segments(start, ctx, fwd, boundary);
    }

    /**
     * Marks every activation of the ops that are not segment boundaries for recompute (only tensors kept by {@code
     * start}).
     */
    static Plan segments(Plan start, PlanContext ctx, List<Node> fwd, boolean[] boundaryAt) {
        Schedule s = ctx.schedule;
        Decision[] d = start.decisions();
        boolean[] marked = new boolean[s.tensorCount()];
        for (int i = 0; i < fwd.size(); i++) {
            if (boundaryAt[i]) continue;
            Node n = fwd.get(i);
            for (int o : n.outputs()) mark(ctx, d, marked, s.tensorOfValue(o));
            for (int a : n.aux()) mark(ctx, d, marked, s.tensorOfValue(a));
        }
        // Keep what neither backward nor a recompute reads (it is freed anyway), until nothing changes.
        boolean changed = true;
        while (changed) {
            changed = false;
            boolean[] readByRecompute = new boolean[s.tensorCount()];
            for (int t = 0; t < d.length; t++)
                if (d[t] instanceof Decision.Recompute) for (int in : ctx.producer(t).inputs())
                    readByRecompute[s.tensorOfValue(in)] = true;
            for (int t = 0; t < d.length; t++)
                if (marked[t] && d[t] instanceof Decision.Recompute && ctx.uses.firstBackwardUse(t) < 0
                        && !readByRecompute[t]) {
                    d[t] = start.decision(t);
                    marked[t] = false;
                    changed = true;
                }
        }
        return ctx.repair(new Plan(s, d, start.planner()));
    }

    private static void mark(PlanContext ctx, Decision[] d, boolean[] marked, int t) {
        if (t < 0 || t == ctx.schedule.lossTensor() || !(d[t] instanceof Decision.Keep)
                || ctx.producer(t) == null) return;
        if (ctx.uses.lastForwardUse(t) < 0) return;
        d[t] = Decision.RECOMPUTE;
        marked[t] = true;
    }
}

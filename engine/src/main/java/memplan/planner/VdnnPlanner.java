package memplan.planner;

import memplan.graph.Node;
import memplan.ops.Conv2d;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.Schedule;

/**
 * vDNN (Rhu et al., 2016): swap out activations after their last forward use and prefetch them one layer ahead of
 * the backward step that needs them (issued one step before the use's predecessor). {@code all}: every saved
 * activation; otherwise only the inputs of convolutions (vDNN-conv). The budget is not consulted.
 */
public final class VdnnPlanner implements Planner {
    private final boolean all;

    public VdnnPlanner(boolean all) {
        this.all = all;
    }

    @Override public String name() { return all ? "vdnn-all" : "vdnn-conv"; }

    @Override
    public String description() {
        return all ? "vDNN: swap every saved activation, prefetch one layer ahead"
                : "vDNN: swap the inputs of convolutions only, prefetch one layer ahead";
    }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        Schedule s = ctx.schedule;
        Decision[] d = start.decisions();
        boolean[] convInput = new boolean[s.tensorCount()];
        boolean[] readByRecompute = new boolean[s.tensorCount()];
        boolean[] overwritten = new boolean[s.tensorCount()];
        for (Node n : s.graph().nodes()) if (n.op() instanceof Conv2d) convInput[s.tensorOfValue(n.inputs()[0])] = true;
        for (int t = 0; t < d.length; t++) {
            if (d[t] instanceof Decision.Recompute) {
                Node p = ctx.producer(t);
                if (p != null) for (int in : p.inputs()) readByRecompute[s.tensorOfValue(in)] = true;
            }
            if (d[t] instanceof Decision.Share sh && sh.with() >= 0) overwritten[sh.with()] = true;
        }
        for (int t = 0; t < s.tensorCount(); t++) {
            if (!(d[t] instanceof Decision.Keep) || !ctx.saved(t) || readByRecompute[t] || overwritten[t]) continue;
            if (!all && !convInput[t]) continue;
            int out = ctx.uses.lastForwardUse(t), in = ctx.uses.firstBackwardUse(t);
            if (in - out < 2) continue; // no step in between: nothing to gain
            d[t] = new Decision.Swap(out, in, SwapTiming.oneLayerAhead(out, in));
        }
        return ctx.repair(new Plan(s, d, start.planner()));
    }
}

package memplan.planner;

import memplan.backend.Codec;
import memplan.plan.Decision;
import memplan.plan.Plan;

import java.util.EnumSet;

/**
 * Gist-style encodings of saved activations: a 1-bit mask for ReLU outputs that only ReLU and MaxPool backward
 * read (lossless); with {@code lossy}, fp16 storage of the other floating activations. Applied where they free
 * memory at the peak, cheapest first, until the budget is met; then in-place sharing of what is still kept.
 */
public final class CompressPlanner implements Planner {
    private final boolean lossy;

    public CompressPlanner(boolean lossy) {
        this.lossy = lossy;
    }

    @Override public String name() { return lossy ? "compress-fp16" : "compress"; }

    @Override
    public String description() {
        return lossy ? "Gist: 1-bit ReLU masks plus lossy fp16 storage of other activations"
                : "Gist: lossless 1-bit masks of ReLU outputs where only ReLU/MaxPool backward read them";
    }

    @Override public boolean lossless() { return !lossy; }

    /** Without a budget: every saved activation a codec fits (as Gist does). */
    private Plan all(Plan start, PlanContext ctx) {
        Decision[] d = start.decisions();
        boolean[] readByRecompute = new boolean[d.length];
        boolean[] overwritten = new boolean[d.length];
        for (int t = 0; t < d.length; t++) {
            if (d[t] instanceof Decision.Recompute && ctx.producer(t) != null)
                for (int in : ctx.producer(t).inputs()) readByRecompute[ctx.schedule.tensorOfValue(in)] = true;
            if (d[t] instanceof Decision.Share sh && sh.with() >= 0) overwritten[sh.with()] = true;
        }
        for (int t = 0; t < d.length; t++) {
            if (!(d[t] instanceof Decision.Keep) || readByRecompute[t] || overwritten[t] || !ctx.saved(t)) continue;
            Codec c = Greedy.codecFor(ctx, t, lossy);
            if (c != null && c.encodedBytes(ctx.schedule.tensor(t).shape().numel(),
                    1.0) < ctx.schedule.tensor(t).bytes())
                d[t] = new Decision.Compress(c, 1.0, false);
        }
        return ctx.repair(new Plan(ctx.schedule, d, start.planner()));
    }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        Plan p = budgetBytes == MIN_PEAK ? all(start, ctx)
                : new Greedy(ctx, EnumSet.of(Greedy.Kind.COMPRESS), lossy).run(start, budgetBytes, start.planner());
        return new SharePlanner().improve(p, budgetBytes, ctx);
    }
}

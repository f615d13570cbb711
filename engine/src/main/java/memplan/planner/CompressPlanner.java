package memplan.planner;

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

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        Plan p = new Greedy(ctx, EnumSet.of(Greedy.Kind.COMPRESS), lossy).run(start, budgetBytes, start.planner());
        return new SharePlanner().improve(p, budgetBytes, ctx);
    }
}

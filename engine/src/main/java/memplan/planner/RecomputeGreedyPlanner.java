package memplan.planner;

import memplan.graph.Node;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.train.Schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Low added compute under a budget with recompute only, fast enough for interactive use (the solver-based
 * {@code recompute-optimal} proves how far from the best it is).
 *
 * <p>Exact for small graphs (at most {@value #EXACT_LIMIT} candidate tensors): the added time of a pure-recompute
 * plan is the sum of the forward times of the distinct producers it re-runs (each rebuilt tensor is rebuilt once),
 * so every valid keep/recompute assignment of the candidates is priced without simulating, and they are simulated in
 * order of that price until one fits the budget; no cheaper assignment exists (branch and bound with an exact bound).
 *
 * <p>Scalable approximation for larger graphs: the peak-driven greedy that recomputes the tensors idle at the
 * simulated peak in order of (bytes freed at the peak) / (recompute time), with re-simulation after each round, and
 * segment checkpointing with segment lengths from 1 to 2 sqrt(N) (all short ones, a 10% grid refined around its best
 * above) and with segments cut by bytes (Chen's
 * budgeted greedy, segment sizes on a geometric grid); the fitting plan with the least simulated time
 * wins. Chen's sqrt(N) plan is among the candidates, so the result is never slower than checkpoint-sqrt.
 */
public final class RecomputeGreedyPlanner implements Planner {
    public static final int EXACT_LIMIT = 12;

    @Override public String name() { return "recompute-greedy"; }
    @Override public String description() { return "least recompute time under the budget: exact search on small "
            + "graphs, greedy + segment search otherwise"; }

    /** Tensors the exact search decides on: activations read in backward, and the inputs their producers re-read. */
    public static List<Integer> candidates(PlanContext ctx, Plan start) {
        Schedule s = ctx.schedule;
        Set<Integer> c = new LinkedHashSet<>();
        for (int t = 0; t < s.tensorCount(); t++)
            if (ok(ctx, start, t) && ctx.uses.firstBackwardUse(t) >= 0) c.add(t);
        for (int t : new ArrayList<>(c))
            for (int in : ctx.producer(t).inputs()) {
                int ti = s.tensorOfValue(in);
                if (ok(ctx, start, ti)) c.add(ti);
            }
        List<Integer> out = new ArrayList<>(c);
        out.sort(null);
        return out;
    }

    private static boolean ok(PlanContext ctx, Plan start, int t) {
        return start.decision(t) instanceof Decision.Keep && ctx.producer(t) != null && t != ctx.schedule.lossTensor()
                && ctx.uses.lastForwardUse(t) >= 0;
    }

    @Override
    public Plan improve(Plan start, long budgetBytes, PlanContext ctx) {
        return improve(start, budgetBytes, ctx, Cutoff.none());
    }

    /**
     * As {@link #improve(Plan, long, PlanContext)}, stopping at {@code cutoff} once a plan within the budget is in
     * hand: the candidates are tried in the same order, and those left when it stops are skipped.
     */
    Plan improve(Plan start, long budgetBytes, PlanContext ctx, Cutoff cutoff) {
        if (Fit.fits(ctx, start, budgetBytes)) return start;
        Fit.Candidates options = new Fit.Candidates(ctx, budgetBytes);
        List<Integer> cand = candidates(ctx, start);
        if (cand.size() <= EXACT_LIMIT) options.add(exact(start, budgetBytes, ctx, cand, cutoff));
        else options.add(new Greedy(ctx, EnumSet.of(Greedy.Kind.RECOMPUTE), false).run(start,
                budgetBytes, start.planner(), cutoff, false));
        Schedule s = ctx.schedule;
        List<Node> fwd = new ArrayList<>();
        for (Node n : s.graph().nodes()) if (s.forwardStep(n.index()) >= 0 && n.outputs().length > 0) fwd.add(n);
        fwd.sort(Comparator.comparingInt(n -> s.forwardStep(n.index())));
        int sqrt = Math.max(1, (int) Math.round(Math.sqrt(fwd.size())));
        if (cand.size() > EXACT_LIMIT) {
            if (cutoff.stop("before the segment search", options.anyFits())) return options.best();
            options.add(bestSegments(start, budgetBytes, ctx, fwd, sqrt, cutoff, options.anyFits()));
            // Segments by bytes (Chen's budgeted greedy) over a geometric range of segment sizes.
            long total = 0;
            for (Node n : fwd) for (int o : n.outputs()) total += s.tensor(s.tensorOfValue(o)).bytes();
            for (double x = total / (double) fwd.size(); x < total; x *= 1.5) {
                if (cutoff.stop("in the segments by bytes", options.anyFits())) break;
                options.add(CheckpointSqrtPlanner.segmentsByBytes(start, ctx, fwd, (long) x));
            }
        } else if (!cutoff.stop("before the sqrt(N) segments", options.anyFits()))
            options.add(CheckpointSqrtPlanner.segments(start, ctx, fwd, sqrt));
        return options.best();
    }

    /** Every segment length up to this is tried; above it a geometric grid, refined around its best. */
    static final int ALL_LENGTHS = 24;

    /**
     * The best segment checkpointing plan with lengths 1 .. 2 sqrt(N): every length up to {@value #ALL_LENGTHS},
     * then lengths growing by 10% (sqrt(N) among them), then every length between the best one's grid neighbours.
     * O(log N) simulations instead of 2 sqrt(N), so long chains plan in O(N log N).
     */
    private static Plan bestSegments(Plan start, long budget, PlanContext ctx, List<Node> fwd, int sqrt,
                                     Cutoff cutoff, boolean fitBefore) {
        TreeSet<Integer> grid = new TreeSet<>();
        for (int k = 1; k <= Math.min(2 * sqrt, ALL_LENGTHS); k++) grid.add(k);
        for (double k = ALL_LENGTHS; k <= 2 * sqrt; k *= 1.1) grid.add((int) Math.round(k));
        grid.add(sqrt);
        grid.add(2 * sqrt);
        Map<Integer, Plan> tried = new TreeMap<>();
        int bestK = -1;
        PlanContext.Score bestR = null;
        for (int round = 0; round < 2; round++) {
            for (int k : grid) {
                if (tried.containsKey(k)) continue;
                for (int pass = 0; pass < 2; pass++) {
                    boolean fit = fitBefore || bestR != null && Cutoff.fits(bestR.peakBytes(), budget);
                    if (bestR != null && cutoff.stop("in the segment search", fit)) return tried.get(bestK);
                    // Past the deadline with nothing that fits: Chen's sqrt(N) segments first, the likeliest to.
                    boolean sqrtFirst = pass == 0 && !fit && cutoff.passed() && !tried.containsKey(sqrt);
                    if (pass == 1 && tried.containsKey(k)) break;
                    if (pass == 0 && !sqrtFirst) continue;
                    int next = sqrtFirst ? sqrt : k;
                    Plan p = CheckpointSqrtPlanner.segments(start, ctx, fwd, next);
                    tried.put(next, p);
                    PlanContext.Score r = ctx.score(p);
                    if (bestR == null || better(r, bestR, budget)) {
                        bestK = next;
                        bestR = r;
                    }
                }
            }
            Integer lo = grid.lower(bestK), hi = grid.higher(bestK);
            grid = new TreeSet<>();
            for (int k = lo == null ? bestK : lo + 1; k <= (hi == null ? bestK : hi - 1); k++) grid.add(k);
        }
        return tried.get(bestK);
    }

    static boolean better(PlanContext.Score a, PlanContext.Score b, long budget) {
        if (budget > MIN_PEAK) {
            boolean fa = a.peakBytes() <= budget, fb = b.peakBytes() <= budget;
            if (fa != fb) return fa;
            if (fa) return a.iterationSeconds() < b.iterationSeconds() - 1e-15;
        }
        if (a.peakBytes() != b.peakBytes()) return a.peakBytes() < b.peakBytes();
        return a.iterationSeconds() < b.iterationSeconds() - 1e-15;
    }

    /** Every valid assignment, simulated in order of its exact added time until the cheapest fitting one is found. */
    private Plan exact(Plan start, long budget, PlanContext ctx, List<Integer> cand, Cutoff cutoff) {
        Schedule s = ctx.schedule;
        int n = cand.size();
        List<long[]> masks = new ArrayList<>(); // {mask, priceBits}
        List<Double> prices = new ArrayList<>();
        for (long m = 0; m < (1L << n); m++) {
            Set<Integer> nodes = new LinkedHashSet<>();
            double price = 0;
            for (int i = 0; i < n; i++)
                if ((m >> i & 1) != 0) {
                    Node p = ctx.producer(cand.get(i));
                    if (nodes.add(p.index())) price += ctx.recomputeSeconds(p);
                }
            masks.add(new long[]{m});
            prices.add(price);
        }
        Integer[] order = new Integer[masks.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Double.compare(prices.get(x), prices.get(y)));
        Plan best = start;
        PlanContext.Score bestR = null;
        for (int idx : order) {
            double price = prices.get(idx);
            if (budget > MIN_PEAK && bestR != null && bestR.peakBytes() <= budget
                    && ctx.baselineSeconds() + price > bestR.iterationSeconds() * (1 + 1e-12)) break;
            if (bestR != null && cutoff.stop("in the exact search", Cutoff.fits(bestR.peakBytes(), budget))) break;
            long m = masks.get(idx)[0];
            Decision[] d = start.decisions();
            for (int i = 0; i < n; i++) if ((m >> i & 1) != 0) d[cand.get(i)] = Decision.RECOMPUTE;
            Plan p = new Plan(s, d, start.planner());
            if (!PlanValidator.problems(p, ctx.uses).isEmpty()) continue;
            PlanContext.Score r = ctx.score(p);
            if (bestR == null || better(r, bestR, budget)) {
                best = p;
                bestR = r;
            }
        }
        return best;
    }
}

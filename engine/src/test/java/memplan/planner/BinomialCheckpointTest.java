package memplan.planner;

import memplan.graph.Node;
import memplan.ops.Linear;
import memplan.ops.ReLU;
import memplan.plan.Plan;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * On a homogeneous chain the solver's added forward work at k activation slots equals the classical optimum of
 * Griewank and Walther's binomial checkpointing (revolve), computed here by its dynamic programme.
 */
class BinomialCheckpointTest {
    /**
     * Least forward steps to reverse n steps from a stored x0 with s more snapshot slots, when reversing step j needs
     * x(j-1): advance m steps, store x(m), reverse the last n-m with s-1 slots, then the first m with s.
     */
    static long[][] revolve(int n, int s) {
        long[][] f = new long[n + 1][s + 1];
        for (int i = 1; i <= n; i++)
            for (int k = 0; k <= s; k++) {
                if (i == 1) f[i][k] = 0;
                else if (k == 0) f[i][k] = (long) i * (i - 1) / 2;
                else {
                    long best = Long.MAX_VALUE;
                    for (int m = 1; m < i; m++) best = Math.min(best, m + f[i - m][k - 1] + f[m][k]);
                    f[i][k] = best;
                }
            }
        return f;
    }

    /**
     * A chain of 8 equal Linear+ReLU blocks; the budget leaves room for k of the 8 block outputs (the baseline peak
     * minus 8-k of them). Reversing a block reads its input and its output, so two of the k are working states and
     * s = k-2 are snapshots in revolve's sense. For k >= 4 the solver's added work, in blocks re-run, is exactly the
     * binomial optimum for s snapshots; at k = 3 it is below it (MemPlan's memory is not k uniform slots at every
     * moment: the outputs of blocks already reversed are gone and the gradients are smaller late in backward, so
     * one more snapshot fits there), never above.
     */
    @Test
    void addedWorkMatchesBinomialCheckpointing() {
        int n = 8;
        Schedule s = Zoo.chain(n, 4, 4096);
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        double block = 0;
        Node relu0 = null;
        for (Node x : s.graph().nodes()) {
            if (x.name().equals("fc0") || x.name().equals("relu0")) block += ctx.recomputeSeconds(x);
            if (x.name().equals("relu0")) relu0 = x;
        }
        long act = s.tensor(s.tensorOfValue(relu0.outputs()[0])).bytes();
        long base = ctx.baseline().peakBytes();
        long[][] f = revolve(n, n);
        for (int k = n - 1; k >= 3; k--) {
            long budget = base - (long) (n - k) * act;
            RecomputeOptimalPlanner p = new RecomputeOptimalPlanner(
                    SolverLimits.DEFAULT.withTimeLimit(30).withGapTarget(0).withMaxRebuilds(n), null);
            Plan plan = p.plan(s, budget, Zoo.H100);
            SimResult r = Simulator.simulate(plan, Zoo.H100);
            assertTrue(r.peakBytes() <= budget);
            assertTrue(p.report().optimal(), "k " + k + ": " + p.report());
            long blocks = Math.round((r.iterationSeconds() - ctx.baselineSeconds()) / block);
            assertEquals(blocks * block, r.iterationSeconds() - ctx.baselineSeconds(), 1e-9 * block, "whole blocks re-run");
            long binomial = f[n][k - 2] - (n - 1); // the first forward sweep is the baseline's own
            if (k >= 4) assertEquals(binomial, blocks, "k = " + k);
            else assertTrue(blocks <= binomial && blocks > 0, "k = " + k + ": " + blocks + " > " + binomial);
        }
    }

    static long binom(int a, int b) {
        long r = 1;
        for (int i = 1; i <= b; i++) r = r * (a - b + i) / i;
        return r;
    }

    /**
     * The dynamic programme is Griewank's binomial optimum: with c = s + 1 snapshots (x0 included) and r the least
     * repetition number with n <= C(c + r, c), reversing n steps takes r n - C(c + r, c + 1) forward steps.
     */
    @Test
    void programmeEqualsTheBinomialFormula() {
        long[][] f = revolve(30, 6);
        for (int n = 2; n <= 30; n++)
            for (int s = 1; s <= 6; s++) {
                int c = s + 1, r = 0;
                while (binom(c + r, c) < n) r++;
                assertEquals(r * (long) n - binom(c + r, c + 1), f[n][s], "n " + n + ", s " + s);
            }
    }
}

package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.CrossEntropy;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.ReLU;
import memplan.plan.Plan;
import memplan.planner.InfeasibleBudgetException;
import memplan.planner.PlanContext;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.planner.SolveReport;
import memplan.planner.SolverLimits;
import memplan.planner.SolverPlanner;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * `memplan bench chains`: how planning time grows with the op count, on homogeneous chains of Linear+ReLU blocks;
 * with {@code --slots}, the blocks re-run at k activation slots next to Griewank and Walther's binomial optimum.
 */
@Command(name = "chains", mixinStandardHelpOptions = true,
        description = "Chains of equal Linear+ReLU blocks of growing length: each planner's overhead, solve time and "
                + "proven gap (solve-time growth), or blocks re-run at k slots against the binomial optimum.")
public final class BenchChainsCommand implements Callable<Integer> {
    @Option(names = "--ops", split = ",", defaultValue = "100,1000,5000,10000",
            description = "Forward ops per chain, two per block (default: ${DEFAULT-VALUE}).")
    List<Integer> ops;

    @Option(names = "--planners", split = ",", defaultValue = "recompute-greedy,recompute-optimal",
            description = "Planners (default: ${DEFAULT-VALUE}).")
    List<String> planners;

    @Option(names = "--budget", defaultValue = "0.5",
            description = "Budget as a share of the baseline peak (default: ${DEFAULT-VALUE}).")
    double budget;

    @Option(names = "--slots", split = ",",
            description = "Instead of --budget: room for k block outputs (the baseline peak less the others); "
                    + "prints blocks re-run and the binomial optimum for k-2 snapshots.")
    List<Integer> slots;

    @Option(names = "--width", defaultValue = "256", description = "Features per layer (default: ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--batch", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--device", defaultValue = "h100", description = "Device model (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--time-limit", paramLabel = "TIME", defaultValue = "60s",
            description = "Longest search of a solver-based planner per chain (default: ${DEFAULT-VALUE}).")
    String timeLimit;

    @Option(names = "--max-rebuilds", defaultValue = "2",
            description = "Re-runs of one op a solver may plan (default: ${DEFAULT-VALUE}).")
    int maxRebuilds;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        for (int n : ops) if (n < 2) throw new CliException("--ops must be at least 2 (one block), got " + n);
        if (batch <= 0 || width <= 0) throw new CliException("--batch and --width must be positive");
        if (!(budget > 0 && budget <= 1)) throw new CliException("--budget must be a share in (0, 1], got " + budget);
        if (maxRebuilds < 1) throw new CliException("--max-rebuilds must be at least 1, got " + maxRebuilds);
        SolverLimits limits = SolverLimits.DEFAULT.withTimeLimit(PlanChoice.seconds(timeLimit))
                .withMaxRebuilds(maxRebuilds);
        for (String p : planners) Planners.named(p, limits);
        DeviceModel d = DeviceModel.preset(device);
        PrintWriter o = spec.commandLine().getOut();
        ArrayNode rows = Json.MAPPER.createArrayNode();
        if (!json) o.printf(Locale.ROOT, "%8s %-18s %8s %9s %9s %10s %9s %s%n", "ops", "planner", "budget", "peak",
                "overhead", "solve s", "gap", slots == null ? "status" : "blocks (binomial) status");
        for (int n : ops) {
            int blocks = n / 2;
            Schedule s = chain(blocks, width, batch);
            PlanContext ctx = new PlanContext(s, d);
            long base = ctx.baseline().peakBytes();
            double block = 0;
            long act = 0;
            for (Node x : s.graph().nodes()) {
                if (x.name().equals("fc0") || x.name().equals("relu0")) block += ctx.recomputeSeconds(x);
                if (x.name().equals("relu0")) act = s.tensor(s.tensorOfValue(x.outputs()[0])).bytes();
            }
            List<long[]> budgets = new ArrayList<>(); // {budget bytes, slots or -1}
            if (slots == null) budgets.add(new long[]{Math.round(budget * base), -1});
            else for (int k : slots) budgets.add(new long[]{base - (long) (blocks - k) * act, k});
            for (long[] b : budgets)
                for (String pn : planners) {
                    Planner p = Planners.named(pn, limits);
                    ObjectNode row = rows.addObject();
                    row.put("ops", n);
                    row.put("planner", pn);
                    row.put("budgetBytes", b[0]);
                    row.put("baselinePeakBytes", base);
                    long t0 = System.nanoTime();
                    String peak, over, status = "";
                    double gap = Double.NaN;
                    try {
                        Plan plan = p.plan(s, b[0], d);
                        SimResult r = Simulator.simulate(plan, d);
                        peak = String.format(Locale.ROOT, "%.1f%%", 100.0 * r.peakBytes() / base);
                        over = String.format(Locale.ROOT, "%+.1f%%", 100 * r.overhead());
                        row.put("feasible", true);
                        row.put("peakBytes", r.peakBytes());
                        row.put("overhead", r.overhead());
                        if (b[1] >= 0) {
                            long rerun = Math.round((r.iterationSeconds() - ctx.baselineSeconds()) / block);
                            long binomial = binomialExtra(blocks, (int) b[1] - 2);
                            row.put("slots", b[1]);
                            row.put("blocksRerun", rerun);
                            row.put("binomialBlocks", binomial);
                            status = rerun + " (" + binomial + ") ";
                        }
                    } catch (InfeasibleBudgetException e) {
                        peak = String.format(Locale.ROOT, "-(%.1f%%)", 100.0 * e.leastPeakBytes() / base);
                        over = "-";
                        row.put("feasible", false);
                        row.put("leastPeakBytes", e.leastPeakBytes());
                    }
                    double secs = (System.nanoTime() - t0) / 1e9;
                    row.put("solveSeconds", secs);
                    SolveReport rep = p instanceof SolverPlanner sp ? sp.report() : null;
                    if (rep != null) {
                        gap = rep.gap();
                        row.put("gap", gap);
                        row.put("solverStatus", rep.status());
                        row.put("planFrom", rep.source());
                        row.put("phases", rep.phases());
                        // -Dmemplan.solverLog=true: where the solver planner's time went, next to CP-SAT's log
                        if (Boolean.getBoolean("memplan.solverLog"))
                            spec.commandLine().getErr().println("phases: " + rep.phases());
                        status += rep.status().toLowerCase(Locale.ROOT) + ", plan from the " + rep.source();
                    }
                    if (!json) o.printf(Locale.ROOT, "%8d %-18s %7.1f%% %9s %9s %10.2f %9s %s%n", n, pn,
                            100.0 * b[0] / base, peak, over, secs,
                            Double.isNaN(gap) ? "" : String.format(Locale.ROOT, "%.2f%%", 100 * gap), status);
                    o.flush();
                }
        }
        if (json) o.println(Json.write(rows));
        return 0;
    }

    /** A chain of equal Linear+ReLU blocks ending in a classifier, trained with SGD. */
    static Schedule chain(int blocks, int width, int batch) {
        ModelDef.Builder b = ModelDef.builder("chain" + blocks);
        String x = b.add("x", new Input(List.of("N", String.valueOf(width)), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        for (int i = 0; i < blocks; i++) {
            x = b.add("fc" + i, new Linear(width, true), x);
            x = b.add("relu" + i, new ReLU(), x);
        }
        x = b.add("out", new Linear(10, true), x);
        b.add("loss", new CrossEntropy(1), x, y);
        return TrainingGraph.derive(Graph.instantiate(b.build(), batch, DType.FP32), Optimizer.SGD);
    }

    /**
     * Griewank and Walther's least forward work to reverse n blocks with s snapshots beyond the input, less the
     * first sweep (the baseline's own): advance m, store, reverse the rest with s-1, then the first m with s.
     * Reversing a block reads its input and output, as BinomialCheckpointTest explains. -1 when s is negative.
     */
    static long binomialExtra(int n, int s) {
        if (s < 0) return -1;
        long[] prev = new long[n + 1], cur = new long[n + 1];
        for (int i = 1; i <= n; i++) prev[i] = (long) i * (i - 1) / 2; // no snapshot
        for (int k = 1; k <= s; k++) {
            cur[1] = 0;
            for (int i = 2; i <= n; i++) {
                long best = Long.MAX_VALUE;
                for (int m = 1; m < i; m++) best = Math.min(best, m + prev[i - m] + cur[m]);
                cur[i] = best;
            }
            long[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[n] - (n - 1);
    }
}

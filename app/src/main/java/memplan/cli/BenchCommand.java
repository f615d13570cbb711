package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.graph.Graph;
import memplan.lower.ExecutionSchedule;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.planner.InfeasibleBudgetException;
import memplan.planner.PlanContext;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.samples.SampleModels;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import memplan.units.ByteSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Benchmarks: every planner over the sample zoo at several budgets; re-simulation time after one toggle. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks of the planners and the simulator.",
        subcommands = {BenchCommand.Planners_.class, BenchCommand.Simulate.class})
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final double[] BUDGETS = {1.0, 0.7, 0.5, 0.3};

    static Schedule schedule(String model, int batch, String optimizer) {
        if (!SampleModels.exists(model))
            throw new CliException("unknown model '" + model + "' (bundled: " + String.join(", ", SampleModels.names()) + ")");
        return TrainingGraph.derive(Graph.instantiate(SampleModels.load(model), batch, memplan.ir.DType.FP32), Optimizer.parse(optimizer));
    }

    @Command(name = "planners", mixinStandardHelpOptions = true,
            description = "For each model and budgets of 100%, 70%, 50% and 30% of the baseline peak: every planner's achieved peak, predicted overhead and solve time.")
    public static final class Planners_ implements Callable<Integer> {
        @Option(names = "--models", split = ",", description = "Models (default: every bundled model but the tiny ones).")
        List<String> models;

        @Option(names = "--planners", split = ",", description = "Planners (default: all).")
        List<String> planners;

        @Option(names = "--batch", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--optimizer", defaultValue = "adam", description = "sgd or adam (default: ${DEFAULT-VALUE}).")
        String optimizer;

        @Option(names = "--device", defaultValue = "h100", description = "Device model (default: ${DEFAULT-VALUE}).")
        String device;

        @Option(names = "--json", description = "Print JSON for scripts.")
        boolean json;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (batch <= 0) throw new CliException("--batch must be a positive integer, got " + batch);
            List<String> ms = models;
            if (ms == null) {
                ms = new ArrayList<>();
                for (String n : SampleModels.names()) if (!n.startsWith("tiny-")) ms.add(n);
            }
            List<String> ps = planners == null ? Planners.names() : planners;
            for (String p : ps) Planners.named(p);
            DeviceModel d = DeviceModel.preset(device);
            PrintWriter o = spec.commandLine().getOut();
            ArrayNode rows = Json.MAPPER.createArrayNode();
            if (!json) {
                o.printf(Locale.ROOT, "batch %d, %s, device %s; cells: peak as %% of baseline / overhead %% / solve ms; '-' = infeasible (least peak %% reached)%n",
                        batch, optimizer, d.name());
            }
            for (String m : ms) {
                Schedule s = schedule(m, batch, optimizer);
                long base = Simulator.simulate(Plan.baseline(s), d).peakBytes();
                if (!json) {
                    o.printf(Locale.ROOT, "%n%s (baseline peak %s)%n", m, ByteSize.format(base));
                    o.printf(Locale.ROOT, "%-18s", "planner");
                    for (double f : BUDGETS) o.printf(Locale.ROOT, " | %-22s", String.format(Locale.ROOT, "budget %.0f%%", f * 100));
                    o.println();
                }
                for (String pn : ps) {
                    Planner p = Planners.named(pn);
                    if (!json) o.printf(Locale.ROOT, "%-18s", pn);
                    for (double f : BUDGETS) {
                        long budget = Math.round(f * base);
                        long t0 = System.nanoTime();
                        ObjectNode row = rows.addObject();
                        row.put("model", m);
                        row.put("planner", pn);
                        row.put("budgetShare", f);
                        row.put("budgetBytes", budget);
                        row.put("baselinePeakBytes", base);
                        String cell;
                        try {
                            Plan plan = p.plan(s, budget, d);
                            double solve = (System.nanoTime() - t0) / 1e6;
                            SimResult r = Simulator.simulate(plan, d);
                            row.put("feasible", true);
                            row.put("peakBytes", r.peakBytes());
                            row.put("overhead", r.overhead());
                            row.put("solveMillis", solve);
                            cell = String.format(Locale.ROOT, "%5.1f%% %+7.1f%% %6.0f", 100.0 * r.peakBytes() / base, 100 * r.overhead(), solve);
                        } catch (InfeasibleBudgetException e) {
                            double solve = (System.nanoTime() - t0) / 1e6;
                            row.put("feasible", false);
                            row.put("leastPeakBytes", e.leastPeakBytes());
                            row.put("solveMillis", solve);
                            cell = String.format(Locale.ROOT, "- (%5.1f%%)     %6.0f", 100.0 * e.leastPeakBytes() / base, solve);
                        }
                        if (!json) o.printf(Locale.ROOT, " | %-22s", cell);
                    }
                    if (!json) o.println();
                    o.flush();
                }
            }
            if (json) o.println(Json.write(rows));
            return 0;
        }
    }

    @Command(name = "simulate", mixinStandardHelpOptions = true,
            description = "Re-simulation time after toggling one tensor's decision (lowering + simulation), median of N runs.")
    public static final class Simulate implements Callable<Integer> {
        @Option(names = "--models", split = ",", defaultValue = "resnet50,gpt2-small", description = "Models (default: ${DEFAULT-VALUE}).")
        List<String> models;

        @Option(names = "--batch", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--runs", defaultValue = "31", description = "Timed runs per model (default: ${DEFAULT-VALUE}).")
        int runs;

        @Option(names = "--planner", defaultValue = "checkpoint-sqrt", description = "Planner of the starting plan (default: ${DEFAULT-VALUE}).")
        String planner;

        @Option(names = "--json", description = "Print JSON for scripts.")
        boolean json;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (runs < 1) throw new CliException("--runs must be positive, got " + runs);
            DeviceModel d = DeviceModel.preset("h100");
            PrintWriter o = spec.commandLine().getOut();
            ArrayNode rows = Json.MAPPER.createArrayNode();
            for (String m : models) {
                Schedule s = schedule(m, batch, "adam");
                Plan start = Planners.named(planner).plan(s, Planner.MIN_PEAK, d);
                PlanContext ctx = new PlanContext(s, d);
                // Toggle a saved tensor in the middle of the forward order: keep <-> recompute (or swap).
                int toggle = -1;
                List<Integer> saved = new ArrayList<>();
                for (int t = 0; t < s.tensorCount(); t++) if (ctx.saved(t)) saved.add(t);
                for (int i = saved.size() / 2; i < saved.size() && toggle < 0; i++) {
                    int t = saved.get(i);
                    Decision alt = start.decision(t) instanceof Decision.Keep ? Decision.Swap.auto() : Decision.KEEP;
                    Plan p = start.with(t, alt);
                    if (memplan.plan.PlanValidator.problems(p, ctx.uses).isEmpty()) toggle = t;
                }
                if (toggle < 0) throw new CliException("no tensor of " + m + " can be toggled");
                Plan[] plans = {start, start.with(toggle, start.decision(toggle) instanceof Decision.Keep ? Decision.Swap.auto() : Decision.KEEP)};
                for (int i = 0; i < 5; i++) Simulator.simulate(Lowering.lower(plans[i % 2], d), d); // warm up
                double[] lower = new double[runs], sim = new double[runs], total = new double[runs];
                for (int i = 0; i < runs; i++) {
                    Plan p = plans[(i + 1) % 2];
                    long t0 = System.nanoTime();
                    ExecutionSchedule es = Lowering.lower(p, d);
                    long t1 = System.nanoTime();
                    Simulator.simulate(es, d);
                    long t2 = System.nanoTime();
                    lower[i] = (t1 - t0) / 1e6;
                    sim[i] = (t2 - t1) / 1e6;
                    total[i] = (t2 - t0) / 1e6;
                }
                ObjectNode row = rows.addObject();
                row.put("model", m);
                row.put("batch", batch);
                row.put("tensors", s.tensorCount());
                row.put("steps", s.stepCount());
                row.put("toggled", s.tensor(toggle).name());
                row.put("medianLowerMillis", median(lower));
                row.put("medianSimulateMillis", median(sim));
                row.put("medianTotalMillis", median(total));
                row.put("runs", runs);
                if (!json)
                    o.printf(Locale.ROOT, "%-12s batch %d  %d tensors, %d steps  toggle %s: lowering %.2f ms + simulation %.2f ms = %.2f ms (median of %d)%n",
                            m, batch, s.tensorCount(), s.stepCount(), s.tensor(toggle).name(), median(lower), median(sim), median(total), runs);
            }
            if (json) o.println(Json.write(rows));
            return 0;
        }

        static double median(double[] v) {
            double[] c = v.clone();
            Arrays.sort(c);
            return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
        }
    }
}

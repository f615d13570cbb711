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
import memplan.planner.SolverPlanner;
import memplan.planner.SolveReport;
import memplan.planner.SolverLimits;
import memplan.profile.MemoryProfile;
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
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * `memplan bench planners`: every planner over the zoo at 100%, 70%, 50% and 30% of the baseline peak, with the
 * proven optimality gap of solver-based planners.
 */
@Command(name = "planners", mixinStandardHelpOptions = true,
        description = "For each model and budgets of 100%%, 70%%, 50%% and 30%% of the baseline peak: every "
                + "planner's achieved peak, predicted overhead and solve time.")
public final class BenchPlannersCommand implements Callable<Integer> {
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

    @Option(names = "--time-limit", paramLabel = "TIME", defaultValue = "60s",
            description = "Longest search of a solver-based planner per budget (default: ${DEFAULT-VALUE}).")
    String timeLimit;

    @Option(names = "--budgets", split = ",",
            description = "Budgets as shares of the baseline peak (default: 1,0.7,0.5,0.3).")
    List<Double> budgets;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (batch <= 0) throw new CliException("--batch must be a positive integer, got " + batch);
        List<String> ms = models;
        if (ms == null) {
            ms = new ArrayList<>();
            for (String n : SampleModels.names()) if (!n.startsWith("tiny-")) ms.add(n);
        }
        List<String> ps = planners == null ? Planners.names() : planners;
        SolverLimits limits = SolverLimits.DEFAULT.withTimeLimit(PlanChoice.seconds(timeLimit));
        for (String p : ps) Planners.named(p, limits);
        double[] fs = budgets == null ? BenchCommand.BUDGETS
                : budgets.stream().mapToDouble(Double::doubleValue).toArray();
        for (double f : fs)
            if (!(f > 0 && f <= 1)) throw new CliException("--budgets must be shares in (0, 1], got " + f);
        DeviceModel d = DeviceModel.preset(device);
        PrintWriter o = spec.commandLine().getOut();
        ArrayNode rows = Json.MAPPER.createArrayNode();
        if (!json) {
            o.printf(Locale.ROOT, "batch %d, %s, device %s; cells: peak as %% of baseline / overhead %% / solve ms"
                    + " [/ proven gap of a solver's plan]; '-' = infeasible (least peak %% reached)%n",
                    batch, optimizer, d.name());
        }
        for (String m : ms) {
            Schedule s = BenchCommand.schedule(m, batch, optimizer);
            long base = Simulator.simulate(Plan.baseline(s), d).peakBytes();
            if (!json) {
                long lower = MemoryProfile.of(s).lowerBound();
                o.printf(Locale.ROOT, "%n%s (baseline peak %s, lower bound %s = %.1f%%)%n", m, ByteSize.format(base),
                        ByteSize.format(lower), 100.0 * lower / base);
                o.printf(Locale.ROOT, "%-18s", "planner");
                for (double f : fs)
                    o.printf(Locale.ROOT, " | %-30s", String.format(Locale.ROOT, "budget %.0f%%", f * 100));
                o.println();
            }
            for (String pn : ps) {
                Planner p = Planners.named(pn, limits);
                if (!json) o.printf(Locale.ROOT, "%-18s", pn);
                for (double f : fs) {
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
                        cell = String.format(Locale.ROOT, "%5.1f%% %+7.1f%% %6.0f", 100.0 * r.peakBytes() / base,
                                100 * r.overhead(), solve);
                        SolveReport rep = p instanceof SolverPlanner sp ? sp.report() : null;
                        if (rep != null) {
                            row.put("gap", rep.gap());
                            row.put("boundSeconds", rep.boundSeconds());
                            row.put("solverStatus", rep.status());
                            row.put("planFrom", rep.source());
                            row.put("phases", rep.phases());
                            // -Dmemplan.solverLog=true: where the solver planner's time went, next to CP-SAT's log
                            if (Boolean.getBoolean("memplan.solverLog"))
                                spec.commandLine().getErr().println("phases: " + rep.phases());
                            cell += String.format(Locale.ROOT, " g%.2f%%", 100 * rep.gap());
                        }
                    } catch (InfeasibleBudgetException e) {
                        double solve = (System.nanoTime() - t0) / 1e6;
                        row.put("feasible", false);
                        row.put("leastPeakBytes", e.leastPeakBytes());
                        row.put("solveMillis", solve);
                        cell = String.format(Locale.ROOT, "- (%5.1f%%)     %6.0f",
                                100.0 * e.leastPeakBytes() / base, solve);
                    }
                    if (!json) o.printf(Locale.ROOT, " | %-30s", cell);
                }
                if (!json) o.println();
                o.flush();
            }
        }
        if (json) o.println(Json.write(rows));
        return 0;
    }
}


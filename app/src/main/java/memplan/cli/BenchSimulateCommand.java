package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.graph.Graph;
import memplan.lower.ExecutionSchedule;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
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
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** `memplan bench simulate`: lowering + simulation time after one toggle. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = "Re-simulation time after toggling one tensor's decision (lowering + simulation), median of N "
                + "runs.")
public final class BenchSimulateCommand implements Callable<Integer> {
    @Option(names = "--models", split = ",", defaultValue = "resnet50,gpt2-small",
            description = "Models (default: ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--batch", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--runs", defaultValue = "31", description = "Timed runs per model (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--planner", defaultValue = "checkpoint-sqrt",
            description = "Planner of the starting plan (default: ${DEFAULT-VALUE}).")
    String planner;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    /** Each run keeps three timings; a median needs no more than this. */
    static final int MAX_RUNS = 100_000;

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (runs < 1 || runs > MAX_RUNS) throw new CliException("--runs must be 1.." + MAX_RUNS + ", got " + runs);
        DeviceModel d = DeviceModel.preset("h100");
        PrintWriter o = spec.commandLine().getOut();
        ArrayNode rows = Json.MAPPER.createArrayNode();
        for (String m : models) {
            Schedule s = BenchCommand.schedule(m, batch, "adam");
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
                if (PlanValidator.problems(p, ctx.uses).isEmpty()) toggle = t;
            }
            if (toggle < 0) throw new CliException("no tensor of " + m + " can be toggled");
            Plan[] plans = {start, start.with(toggle, start.decision(toggle) instanceof Decision.Keep
                    ? Decision.Swap.auto() : Decision.KEEP)};
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
                o.printf(Locale.ROOT,
                        "%-12s batch %d  %d tensors, %d steps  toggle %s: lowering %.2f ms + simulation %.2f ms = "
                                + "%.2f ms (median of %d)%n",
                        m, batch, s.tensorCount(), s.stepCount(), s.tensor(toggle).name(), median(lower),
                                median(sim), median(total), runs);
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

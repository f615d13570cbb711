package memplan.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.plan.Plan;
import memplan.plan.PlanJson;
import memplan.planner.Planner;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import memplan.units.ByteSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Makes a plan with a planner under a budget and writes it to a plan file. */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Make a memory plan with a planner under a budget; print predicted peak, overhead and bytes moved; write the plan file.")
public final class PlanCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    FrameworkArgs framework = new FrameworkArgs();

    @Mixin
    PlanChoice choice;

    @Option(names = "--out", paramLabel = "FILE", description = "Write the plan to this JSON file.")
    Path out;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (choice.planner == null && choice.planFile == null) throw new CliException("--planner is required (e.g. --planner checkpoint-sqrt)");
        Schedule s = model.schedule(framework.profile());
        DeviceModel d = choice.device("h100");
        long t0 = System.nanoTime();
        Plan plan = choice.plan(s, d);
        double ms = (System.nanoTime() - t0) / 1e6;
        SimResult r = Simulator.simulate(plan, d);
        long base = Simulator.simulate(Plan.baseline(s), d).peakBytes();
        long budget = choice.planFile == null ? choice.budgetBytes(s, d) : Planner.MIN_PEAK;
        if (out != null) PlanJson.write(plan, out);
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            ObjectNode n = SimulateCommand.summary(s, plan, r, base, d);
            if (budget > 0) n.put("budgetBytes", budget);
            n.put("solveMillis", Math.round(ms * 10) / 10.0);
            if (out != null) n.put("out", out.toString());
            o.println(Json.write(n));
            return 0;
        }
        o.printf(Locale.ROOT, "%s  batch %d  planner %s  on %s%n", s.graph().model().name(), s.graph().batch(), plan.planner(), d.name());
        if (budget > 0) o.printf(Locale.ROOT, "budget          %s%n", ByteSize.format(budget));
        SimulateCommand.print(o, plan, r, base);
        o.printf(Locale.ROOT, "planned in %.1f ms%n", ms);
        if (out != null) o.println("wrote " + out);
        return 0;
    }
}

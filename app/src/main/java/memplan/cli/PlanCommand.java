package memplan.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.io.AtomicFileWriter;
import memplan.plan.Plan;
import memplan.plan.PlanJson;
import memplan.planner.Planner;
import memplan.planner.SolverPlanner;
import memplan.planner.SolveReport;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import memplan.units.ByteSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Makes a plan with a planner under a budget and writes it to a plan file. */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Make a memory plan with a planner under a budget; print predicted peak, overhead and bytes "
                + "moved; write the plan file.")
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
    CommandLine.Model.CommandSpec spec;

    private List<Path> inputs() {
        List<Path> in = new ArrayList<>(model.inputFiles());
        in.addAll(choice.inputFiles());
        return in;
    }

    @Override
    public Integer call() {
        if (choice.planner == null && choice.planFile == null)
            throw new CliException("--planner is required (e.g. --planner checkpoint-sqrt)");
        if (out != null) AtomicFileWriter.refuseInputs(out, inputs());
        Schedule s = model.schedule(framework.profile());
        DeviceModel d = choice.device("h100");
        long t0 = System.nanoTime();
        Planner planner = choice.planFile == null ? choice.planner() : null;
        Plan plan = planner == null ? choice.plan(s, d) : planner.plan(s, choice.budgetBytes(s, d), d);
        SolveReport rep = planner instanceof SolverPlanner sp ? sp.report() : null;
        double ms = (System.nanoTime() - t0) / 1e6;
        SimResult r = Simulator.simulate(plan, d);
        long base = Simulator.simulate(Plan.baseline(s), d).peakBytes();
        long budget = choice.planFile == null ? choice.budgetBytes(s, d) : Planner.MIN_PEAK;
        if (out != null) PlanJson.write(plan, out, inputs());
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            ObjectNode n = SimulateCommand.summary(s, plan, r, base, d);
            if (budget > 0) n.put("budgetBytes", budget);
            n.put("solveMillis", Math.round(ms * 10) / 10.0);
            if (out != null) n.put("out", out.toString());
            if (rep != null) {
                ObjectNode sv = n.putObject("solver");
                sv.put("status", rep.status());
                sv.put("incumbentSeconds", rep.incumbentSeconds());
                sv.put("boundSeconds", rep.boundSeconds());
                sv.put("gap", rep.gap());
                sv.put("solveSeconds", rep.wallSeconds());
                sv.put("simulatedAddedSeconds", rep.simulatedSeconds());
                sv.put("planFrom", rep.source());
                if (!rep.note().isEmpty()) sv.put("note", rep.note());
            }
            o.println(Json.write(n));
            return 0;
        }
        o.printf(Locale.ROOT, "%s  batch %d  planner %s  on %s%n", s.graph().model().name(), s.graph().batch(),
                plan.planner(), d.name());
        if (budget > 0) o.printf(Locale.ROOT, "budget          %s%n", ByteSize.format(budget));
        SimulateCommand.print(o, plan, r, base);
        o.printf(Locale.ROOT, "planned in %.1f ms%n", ms);
        if (rep != null) {
            o.printf(Locale.ROOT, "solver          %s: added time %.4g ms, best bound %.4g ms, gap %.2f%%, %.1f s;"
                    + " plan from the %s%n", rep.status().toLowerCase(Locale.ROOT), rep.incumbentSeconds() * 1e3,
                    rep.boundSeconds() * 1e3, rep.gap() * 100, rep.wallSeconds(), rep.source());
            if (!rep.note().isEmpty()) o.println("solver note     " + rep.note());
        }
        if (out != null) o.println("wrote " + out);
        return 0;
    }
}

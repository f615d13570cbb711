package memplan.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.io.AtomicFileWriter;
import memplan.parallel.DeepSpeedConfig;
import memplan.parallel.IterationTime;
import memplan.parallel.Layout;
import memplan.parallel.Network;
import memplan.parallel.ParallelProfile;
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

    @Mixin
    ParallelArgs parallel = new ParallelArgs();

    @Option(names = "--deepspeed-config", paramLabel = "FILE",
            description = "Write the DeepSpeed configuration (ZeRO stage, offload, activation checkpointing) of the "
                    + "layout and plan to this JSON file.")
    Path deepspeed;

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
        if (deepspeed != null) AtomicFileWriter.refuseInputs(deepspeed, inputs());
        Layout layout = parallel.given() ? parallel.layout() : null;
        Schedule s = layout == null ? model.schedule(framework.profile())
                : SimulateCommand.rankSchedule(model, framework, layout);
        ParallelProfile ranks = layout == null ? null : ParallelProfile.of(s, layout);
        DeviceModel d = choice.device("h100");
        long t0 = System.nanoTime();
        Planner planner = choice.planFile == null ? choice.planner() : null;
        Plan plan = planner == null ? choice.plan(s, d) : planner.plan(s, choice.budgetBytes(s, d), d);
        SolveReport rep = planner instanceof SolverPlanner sp ? sp.report() : null;
        double ms = (System.nanoTime() - t0) / 1e6;
        SimResult r = Simulator.simulate(plan, d);
        long base = Simulator.simulate(Plan.baseline(s), d).peakBytes();
        long budget = choice.planFile == null ? choice.budgetBytes(s, d) : Planner.MIN_PEAK;
        String ds = deepspeed == null ? null : deepSpeed(layout, s, plan);   // refused before anything is written
        if (out != null) PlanJson.write(plan, out, inputs());
        if (ds != null) AtomicFileWriter.writeString(deepspeed, ds, inputs());
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            ObjectNode n = SimulateCommand.summary(s, plan, r, base, d);
            if (budget > 0) n.put("budgetBytes", budget);
            n.put("solveMillis", Math.round(ms * 10) / 10.0);
            if (out != null) n.put("out", out.toString());
            if (ranks != null) {
                ObjectNode ln = RankReport.json(ranks, model.batch);
                ln.set("time", RankReport.timeJson(time(s, layout, r)));
                n.set("layout", ln);
            }
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
        if (ranks != null) {
            SimulateCommand.printRanks(o, ranks, model.batch, d.capacityBytes());
            RankReport.printTime(o, time(s, layout, r), parallel.networks());
        }
        if (out != null) o.println("wrote " + out);
        if (deepspeed != null) o.println("wrote " + deepspeed);
        return 0;
    }

    private IterationTime time(Schedule s, Layout layout, SimResult r) {
        Network[] nets = parallel.networks();
        return IterationTime.of(s, layout, r.iterationSeconds(), nets[0], nets[1]);
    }

    private String deepSpeed(Layout layout, Schedule s, Plan plan) {
        Layout l = layout == null ? Layout.single() : layout;
        try {
            return DeepSpeedConfig.of(l, model.batch, s.graph().floatType(), s.optimizer(), plan);
        } catch (IllegalArgumentException e) {
            throw new CliException("--deepspeed-config: " + e.getMessage());
        }
    }
}

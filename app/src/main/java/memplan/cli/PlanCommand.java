package memplan.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.io.AtomicFileWriter;
import memplan.parallel.DeepSpeedConfig;
import memplan.parallel.IterationTime;
import memplan.parallel.Layout;
import memplan.parallel.Network;
import memplan.parallel.RankPlans;
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
        if (layout != null) return planRanks(layout);
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
        String ds = deepspeed == null ? null : deepSpeed(null, s, plan);   // refused before anything is written
        if (out != null) PlanJson.write(plan, out, inputs());
        if (ds != null) AtomicFileWriter.writeString(deepspeed, ds, inputs());
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
        if (deepspeed != null) o.println("wrote " + deepspeed);
        return 0;
    }

    /**
     * With a layout: the planner runs inside every distinct rank against the budget per device; the summary is the
     * highest rank's, the table every rank's. Distinct plans go to one file each (FILE.rankN.json) when they differ.
     */
    private Integer planRanks(Layout layout) {
        Schedule s = SimulateCommand.rankSchedule(model, framework, layout);
        DeviceModel d = choice.device("h100");
        long t0 = System.nanoTime();
        RankPlans plans = choice.rankPlans(s, layout, d);
        double ms = (System.nanoTime() - t0) / 1e6;
        long budget = choice.rankBudget(s, layout);
        RankPlans.RankPlan h = plans.highest();
        Plan onMicroBatch = RankPlans.rebind(h.plan(), s, d);
        String ds = deepspeed == null ? null : deepSpeed(layout, s, onMicroBatch);
        List<Path> written = new ArrayList<>();
        if (out != null) {
            for (int i = 0; i < plans.ranks().size(); i++) {
                RankPlans.RankPlan r = plans.ranks().get(i);
                if (r.sharesPlanOf() != i) continue;
                Path f = plans.distinctPlans() == 1 ? out : perRank(out, r.globalRank(layout));
                if (!f.equals(out)) AtomicFileWriter.refuseInputs(f, inputs());
                PlanJson.write(RankPlans.rebind(r.plan(), s, d), f, inputs());
                written.add(f);
            }
        }
        if (ds != null) AtomicFileWriter.writeString(deepspeed, ds, inputs());
        PrintWriter o = spec.commandLine().getOut();
        IterationTime time = time(s, layout, Simulator.simulate(onMicroBatch, d));
        if (json) {
            ObjectNode n = SimulateCommand.summary(h.schedule(), h.plan(), h.after(), h.before().peakBytes(), d);
            if (budget > 0) n.put("budgetBytes", budget);
            n.put("solveMillis", Math.round(ms * 10) / 10.0);
            if (!written.isEmpty()) n.put("out", written.get(0).toString());
            ObjectNode ln = RankReport.plansJson(plans, model.batch);
            ln.set("time", RankReport.timeJson(time));
            n.set("layout", ln);
            o.println(Json.write(n));
            return 0;
        }
        o.printf(Locale.ROOT, "%s  global batch %d  planner %s  on %s, per rank%n", s.graph().model().name(),
                model.batch, h.plan().planner(), d.name());
        if (budget > 0) o.printf(Locale.ROOT, "budget          %s per device%n", ByteSize.format(budget));
        o.println("highest rank's plan (its unplanned peak is the baseline):");
        SimulateCommand.print(o, h.plan(), h.after(), h.before().peakBytes());
        o.printf(Locale.ROOT, "planned in %.1f ms (%d distinct plan%s)%n", ms, plans.distinctPlans(),
                plans.distinctPlans() == 1 ? "" : "s");
        RankReport.printPlans(o, plans, model.batch, d.capacityBytes(), budget);
        RankReport.printTime(o, time, parallel.networks());
        for (Path f : written) o.println("wrote " + f);
        if (deepspeed != null) o.println("wrote " + deepspeed);
        return 0;
    }

    /** FILE.json -> FILE.rankN.json. */
    static Path perRank(Path out, int rank) {
        String name = out.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name, ext = dot > 0 ? name.substring(dot) : "";
        return out.resolveSibling(stem + ".rank" + rank + ext);
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

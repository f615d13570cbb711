package memplan.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.io.AtomicFileWriter;
import memplan.parallel.IterationTime;
import memplan.parallel.Layout;
import memplan.parallel.Network;
import memplan.parallel.RankPlans;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.sim.TimelineEvent;
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
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** Simulates a plan file (or a planner's plan) and prints the prediction; optionally the timeline as CSV. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = "Predict peak memory, iteration time, stalls and bytes moved of a plan; optionally write the "
                + "timeline as CSV.")
public final class SimulateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    FrameworkArgs framework = new FrameworkArgs();

    @Mixin
    PlanChoice choice;

    @Option(names = "--csv", paramLabel = "FILE",
            description = "Write the predicted timeline (one event per line) to this CSV file.")
    Path csv;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Mixin
    ParallelArgs parallel = new ParallelArgs();

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (csv != null) AtomicFileWriter.refuseInputs(csv, inputs());
        Layout layout = parallel.given() ? parallel.layout() : null;
        if (layout != null) return simulateRanks(layout);
        Schedule s = model.schedule(framework.profile());
        DeviceModel d = choice.device("h100");
        Plan plan = choice.plan(s, d);
        SimResult r = Simulator.simulate(plan, d);
        long base = Simulator.simulate(Plan.baseline(s), d).peakBytes();
        if (csv != null) writeCsv(r, csv, inputs());
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            o.println(Json.write(summary(s, plan, r, base, d)));
            return 0;
        }
        o.printf(Locale.ROOT, "%s  batch %d  plan %s  on %s%n", s.graph().model().name(), s.graph().batch(),
                plan.planner(), d.name());
        print(o, plan, r, base);
        if (csv != null) o.println("wrote " + csv);
        return 0;
    }

    /**
     * With a layout: every distinct rank simulated with its plan (the planner's inside each rank, or the plan file
     * on every rank); the summary and the CSV timeline are the highest rank's.
     */
    private Integer simulateRanks(Layout layout) {
        Schedule s = rankSchedule(model, framework, layout);
        DeviceModel d = choice.device("h100");
        RankPlans plans = choice.rankPlans(s, layout, d);
        RankPlans.RankPlan h = plans.highest();
        if (csv != null) writeCsv(h.after(), csv, inputs());
        PrintWriter o = spec.commandLine().getOut();
        Network[] nets = parallel.networks();
        Plan onMicroBatch = RankPlans.rebind(h.plan(), s, d);
        IterationTime time = IterationTime.of(s, layout, Simulator.simulate(onMicroBatch, d).iterationSeconds(),
                nets[0], nets[1]);
        if (json) {
            ObjectNode n = summary(h.schedule(), h.plan(), h.after(), h.before().peakBytes(), d);
            ObjectNode ln = RankReport.plansJson(plans, model.batch);
            ln.set("time", RankReport.timeJson(time));
            n.set("layout", ln);
            o.println(Json.write(n));
            return 0;
        }
        o.printf(Locale.ROOT, "%s  global batch %d  plan %s  on %s, per rank%n", s.graph().model().name(),
                model.batch, h.plan().planner(), d.name());
        o.println("highest rank's plan (its unplanned peak is the baseline):");
        print(o, h.plan(), h.after(), h.before().peakBytes());
        RankReport.printPlans(o, plans, model.batch, d.capacityBytes(), choice.rankBudget(s, layout));
        RankReport.printTime(o, time, nets);
        if (csv != null) o.println("wrote " + csv + " (the highest rank's timeline)");
        return 0;
    }

    /** One rank's micro-batch of a layout: --batch is the global batch. */
    static Schedule rankSchedule(ModelOptions model, FrameworkArgs framework, Layout layout) {
        if (model.batch <= 0) throw new CliException("--batch must be a positive integer, got " + model.batch);
        int micro;
        try {
            micro = layout.microBatchSize(model.batch);
        } catch (IllegalArgumentException e) {
            throw new CliException("--batch " + model.batch + " (the global batch) must split evenly over dp="
                    + layout.dp() + " ranks x " + layout.microBatches() + " micro-batches");
        }
        return model.schedule(model.loadModel(), framework.profile(), micro);
    }

    private List<Path> inputs() {
        List<Path> in = new ArrayList<>(model.inputFiles());
        in.addAll(choice.inputFiles());
        return in;
    }

    static void writeCsv(SimResult r, Path file, List<Path> inputs) {
        StringBuilder b = new StringBuilder("start_s,end_s,kind,stream,pos,step,tensor,bytes,label\n");
        for (TimelineEvent e : r.timeline().events())
            b.append(String.format(Locale.ROOT, "%.9f,%.9f,%s,%s,%d,%d,%d,%d,\"%s\"%n",
                    e.startSeconds(), e.endSeconds(),
                    e.kind().name().toLowerCase(Locale.ROOT), e.copyStream() ? "copy" : "compute",
                            e.pos(), e.step(), e.tensor(),
                    e.bytes(), e.label().replace("\"", "\"\"")));
        AtomicFileWriter.writeString(file, b.toString(), inputs);
    }

    static ObjectNode summary(Schedule s, Plan plan, SimResult r, long base, DeviceModel d) {
        ObjectNode n = Json.object();
        n.put("model", s.graph().model().name());
        n.put("batch", s.graph().batch());
        n.put("planner", plan.planner());
        n.put("device", d.name());
        n.put("lossless", !plan.lossy());
        n.put("baselinePeakBytes", base);
        n.put("peakBytes", r.peakBytes());
        n.put("peakRatio", base == 0 ? 0 : (double) r.peakBytes() / base);
        n.put("iterationSeconds", r.iterationSeconds());
        n.put("baselineSeconds", r.baselineSeconds());
        n.put("overhead", r.overhead());
        n.put("bytesMoved", r.bytesMoved());
        n.put("bytesToHost", r.bytesToHost());
        n.put("bytesFromHost", r.bytesFromHost());
        n.put("stallSeconds", r.stallSeconds());
        n.put("recomputeSeconds", r.recomputeSeconds());
        ObjectNode k = n.putObject("decisions");
        decisionCounts(plan).forEach(k::put);
        return n;
    }

    static TreeMap<String, Integer> decisionCounts(Plan plan) {
        TreeMap<String, Integer> m = new TreeMap<>();
        for (int t = 0; t < plan.size(); t++) {
            Decision dd = plan.decision(t);
            if (!(dd instanceof Decision.Keep)) m.merge(dd.kind(), 1, Integer::sum);
        }
        return m;
    }

    static void print(PrintWriter o, Plan plan, SimResult r, long base) {
        o.printf(Locale.ROOT, "predicted peak  %s (%.1f%% of the baseline %s)%n", ByteSize.format(r.peakBytes()),
                base == 0 ? 0 : 100.0 * r.peakBytes() / base, ByteSize.format(base));
        o.printf(Locale.ROOT, "overhead        %+.1f%% (%.3f ms per iteration, baseline %.3f ms)%n", 100 * r.overhead(),
                1e3 * r.iterationSeconds(), 1e3 * r.baselineSeconds());
        o.printf(Locale.ROOT, "bytes moved     %s (to host %s, from host %s), stalls %.3f ms, recompute %.3f ms%n",
                ByteSize.format(r.bytesMoved()), ByteSize.format(r.bytesToHost()), ByteSize.format(r.bytesFromHost()),
                1e3 * r.stallSeconds(), 1e3 * r.recomputeSeconds());
        o.printf(Locale.ROOT, "decisions       %s%s%n", decisionCounts(plan).isEmpty() ? "all kept"
                : decisionCounts(plan).toString(),
                plan.lossy() ? " (lossy)" : "");
    }
}

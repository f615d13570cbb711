package memplan.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.graph.Graph;
import memplan.model.ModelDef;
import memplan.parallel.Layout;
import memplan.parallel.LayoutSearch;
import memplan.parallel.ParallelProfile;
import memplan.planner.Budget;
import memplan.planner.MaxBatch;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import memplan.units.ByteSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;

/** The largest batch that fits a budget with a planner, against the baseline's. */
@Command(name = "maxbatch", mixinStandardHelpOptions = true,
        description = "Largest batch whose plan fits a memory budget with a planner (binary search), next to the "
                + "baseline's.")
public final class MaxBatchCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    FrameworkArgs framework = new FrameworkArgs();

    @Option(names = "--budget", required = true, description = "Memory budget in bytes, with units (16GiB, 512MiB).")
    String budget;

    @Option(names = "--planner", description = "Planner (default: ${DEFAULT-VALUE}).", defaultValue = "baseline")
    String planner;

    @Option(names = "--device", description = "Device model: h100, h200, a100, v100, cpu (default: ${DEFAULT-VALUE}).",
            defaultValue = "h100")
    String device;

    @Option(names = "--link", description = "Host link: pcie3, pcie4, pcie5, nvlink-c2c.")
    String link;

    @Option(names = "--limit", description = "Largest batch to try (default: ${DEFAULT-VALUE}).",
            defaultValue = "65536")
    int limit;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Mixin
    ParallelArgs parallel = new ParallelArgs();

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Budget b = Budget.parse(budget);
        if (b.relative())
            throw new CliException("--budget for maxbatch must be a size (e.g. 16GiB), not a share of the baseline");
        if (limit < 1) throw new CliException("--limit must be positive, got " + limit);
        Planner p = Planners.named(planner);
        DeviceModel d = CpuDeviceChoice.named(device, spec.commandLine().getErr());
        if (link != null) d = d.withLink(link);
        ModelDef m = model.loadModel();
        var dtype = model.floatType();
        var opt = model.optimizerKind();
        var fw = framework.profile();
        var setup = model.setup();
        IntFunction<Schedule> at = batch -> TrainingGraph.derive(
                Graph.instantiate(m, batch, dtype, model.dims), opt, fw, setup);
        if (parallel.given()) return perRank(m, at, b.bytes(), p, d);
        long t0 = System.nanoTime();
        MaxBatch.Result base = MaxBatch.search(at, Planners.named("baseline"), b.bytes(), d, limit);
        MaxBatch.Result r = p.name().equals("baseline") ? base : MaxBatch.search(at, p, b.bytes(), d, limit);
        double ms = (System.nanoTime() - t0) / 1e6;
        PrintWriter o = spec.commandLine().getOut();
        double gain = base.batch() == 0 ? Double.NaN : (double) r.batch() / base.batch();
        if (json) {
            ObjectNode n = Json.object();
            n.put("model", m.name());
            n.put("planner", p.name());
            n.put("device", d.name());
            n.put("budgetBytes", b.bytes());
            n.put("maxBatch", r.batch());
            n.put("baselineMaxBatch", base.batch());
            if (!Double.isNaN(gain)) n.put("gain", gain);
            if (r.result() != null) {
                n.put("peakBytes", r.result().peakBytes());
                n.put("overhead", r.result().overhead());
            }
            n.put("searchMillis", Math.round(ms));
            o.println(Json.write(n));
            return 0;
        }
        o.printf(Locale.ROOT, "%s  budget %s  planner %s  on %s%n", m.name(),
                ByteSize.format(b.bytes()), p.name(), d.name());
        o.printf(Locale.ROOT, "max batch       %d (baseline %d%s)%n", r.batch(), base.batch(),
                Double.isNaN(gain) ? "" : String.format(Locale.ROOT, ", %.2fx", gain));
        if (r.result() != null)
            o.printf(Locale.ROOT, "at that batch   peak %s, overhead %+.1f%%%n",
                    ByteSize.format(r.result().peakBytes()), 100 * r.result().overhead());
        o.printf(Locale.ROOT, "searched in %.0f ms%n", ms);
        return 0;
    }

    /** The largest global batch whose highest rank fits the budget; the ranks use the layout's own accounting. */
    private int perRank(ModelDef m, IntFunction<Schedule> at, long budget, Planner p, DeviceModel d) {
        if (!p.name().equals("baseline")) throw new CliException("--planner " + p.name() + " with a parallel layout: "
                + "maxbatch searches per rank with the baseline only (use --planner baseline)");
        Layout l = parallel.layout();
        LayoutSearch search = new LayoutSearch(at);
        long t0 = System.nanoTime();
        int batch = search.maxBatch(l, budget, limit);
        double ms = (System.nanoTime() - t0) / 1e6;
        ParallelProfile ranks = batch == 0 ? null : search.profile(l, batch);
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            ObjectNode n = Json.object();
            n.put("model", m.name());
            n.put("device", d.name());
            n.put("budgetBytes", budget);
            n.put("maxBatch", batch);
            if (ranks != null) n.set("layout", RankReport.json(ranks, batch));
            n.put("searchMillis", Math.round(ms));
            o.println(Json.write(n));
            return 0;
        }
        o.printf(Locale.ROOT, "%s  budget %s per device  layout %s  on %s%n", m.name(), ByteSize.format(budget),
                l.describe(), d.name());
        o.printf(Locale.ROOT, "max global batch %d%n", batch);
        if (ranks != null) RankReport.print(o, ranks, batch, budget);
        o.printf(Locale.ROOT, "searched in %.0f ms%n", ms);
        return 0;
    }
}

package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.calibration.CalibrationCache;
import memplan.calibration.CalibrationException;
import memplan.calibration.CpuCalibration;
import memplan.calibration.PredictionCheck;
import memplan.calibration.ProbeSample;
import memplan.exec.ProgressListener;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.samples.SampleModels;
import memplan.sim.CpuCostModel;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.TrainingGraph;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** Measures the cpu device model on this machine again, and checks its predictions against real iterations. */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = "Measure the cpu device model on this machine (small training models through the CPU "
                + "backend's kernels: products and convolutions at the zoo's shapes, every other op class at two or "
                + "three sizes, the executor's cost per step), cache it and print the figures. With --check, run "
                + "real iterations of the zoo models on the CPU backend and print predicted against measured "
                + "iteration time, and under each model the op classes whose times differ most.")
public final class CalibrateCommand implements Callable<Integer> {
    /** The zoo models the check runs, with batches small enough for a CPU. */
    static final Map<String, Integer> CHECK_MODELS = checkModels();

    private static Map<String, Integer> checkModels() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("tiny-mlp", 8);
        m.put("tiny-cnn", 8);
        m.put("tiny-lstm", 8);
        m.put("tiny-transformer", 4);
        m.put("tiny-llama", 4);
        m.put("mlp", 8);
        m.put("lenet5", 8);
        m.put("resnet18", 2);
        return m;
    }

    @Option(names = "--check", description = "Also run the zoo models and compare predicted with measured time.")
    boolean check;

    @Option(names = "--cached", description = "Use the cached calibration when it is of this machine instead of "
            + "measuring again.")
    boolean cached;

    @Option(names = "--models", split = ",", paramLabel = "NAME[:BATCH]",
            description = "Models of --check (default: the zoo models that run on a CPU in seconds).")
    List<String> models;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "Longest a model of --check may run (default: ${DEFAULT-VALUE} s); the iterations done by "
                    + "then are counted, a model that finished none is reported as timed out.")
    int timeoutSeconds;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Map<String, Integer> chosen = chosenModels();
        if (timeoutSeconds < 1) throw new CliException("--timeout must be at least 1 second, got " + timeoutSeconds);
        CpuCalibration c = CpuDeviceChoice.calibration(err, !cached);
        CpuCostModel m = c.model();
        ObjectNode o = Json.object();
        if (json) {
            ObjectNode k = o.putObject("machine");
            k.put("cpuModel", c.key().cpuModel());
            k.put("cores", c.key().cores());
            k.put("threads", c.key().threads());
            k.put("jvm", c.key().jvm());
            k.put("memplanVersion", c.key().memplanVersion());
            k.put("kernels", c.key().kernels());
            o.put("cache", c.file().toString());
            o.put("measured", c.measured());
            if (c.probes() != null) {
                o.put("probeSeconds", c.probes().elapsedSeconds());
                // every probe step's time, so a miss can be traced to the samples behind a figure
                ArrayNode ss = o.putArray("probeSamples");
                for (ProbeSample p : c.probes().samples()) {
                    ObjectNode n = ss.addObject();
                    n.put("probe", p.probe());
                    n.put("class", p.costClass().label());
                    if (p.opType() != null) n.put("op", p.opType());
                    n.put("phase", phase(p.phase()));
                    n.put("flops", p.flops());
                    n.put("bytes", p.bytes());
                    n.put("seconds", p.seconds());
                }
            }
            o.set("model", figures(m));
        } else {
            out.printf(Locale.ROOT, "cpu device model of %s, %d cores, %d threads, %s, MemPlan %s (kernels %s)%n",
                    c.key().cpuModel(), c.key().cores(), c.key().threads(), c.key().jvm(),
                    c.key().memplanVersion(), c.key().kernels());
            out.println(c.measured() ? String.format(Locale.ROOT, "measured now (probes took %.1f s, load %s); "
                    + "cached in %s", c.probes().elapsedSeconds(), load(), c.file()) : "from the cache " + c.file());
            out.printf(Locale.ROOT, "  executor per step %.4f ms, per iteration %.4f ms%n", 1e3 * m.gapSeconds(),
                    1e3 * m.iterationSeconds());
            out.printf(Locale.ROOT, "  %-28s %12s %10s%n", "class (op)", "per call ms", "GB/s");
            for (CpuCostModel.ClassCost k : m.classCosts())
                out.printf(Locale.ROOT, "  %-28s %12.4f %10.2f%n", k.costClass().label()
                                + (k.opType() != null ? " " + k.opType() : "") + " " + phase(k.phase()),
                        1e3 * k.callSeconds(), k.bytesPerSecond() / 1e9);
            out.printf(Locale.ROOT, "  %-20s %30s %10s%n", "product", "shape m x n x k (x count)", "GFLOP/s");
            for (CpuCostModel.ProductPoint p : m.products())
                out.printf(Locale.ROOT, "  %-20s %30s %10.2f%n", p.costClass().label() + " " + phase(p.phase()),
                        String.format(Locale.ROOT, "%.0f x %.0f x %.0f%s", p.dims().m(), p.dims().n(), p.dims().k(),
                                p.dims().count() > 1 ? String.format(Locale.ROOT, " x %.0f", p.dims().count()) : ""),
                        p.flopsPerSecond() / 1e9);
        }
        if (check) {
            ArrayNode rows = o.putArray("check");
            if (!json) out.printf(Locale.ROOT, "%n%-18s %5s %14s %13s %7s %6s%n", "model", "batch", "predicted ms",
                    "measured ms", "ratio", "load");
            int outside = 0;
            for (Map.Entry<String, Integer> e : chosen.entrySet()) {
                Graph g = Graph.instantiate(SampleModels.load(e.getKey()), e.getValue(), DType.FP32);
                long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
                PredictionCheck r;
                try {
                    r = PredictionCheck.run(TrainingGraph.derive(g, Optimizer.SGD), c.device(),
                            new ProgressListener() { }, () -> System.nanoTime() > deadline);
                } catch (CalibrationException ex) {
                    outside++;
                    if (json) rows.addObject().put("model", e.getKey()).put("batch", e.getValue())
                            .put("timedOutSeconds", timeoutSeconds);
                    else out.printf(Locale.ROOT, "%-18s %5d   timed out after %d s (--timeout)%n", e.getKey(),
                            e.getValue(), timeoutSeconds);
                    continue;
                }
                if (Math.abs(r.ratio() - 1) > 0.25) outside++;
                if (json) {
                    ObjectNode n = rows.addObject();
                    n.put("model", r.model());
                    n.put("batch", r.batch());
                    n.put("predictedSeconds", r.predictedSeconds());
                    n.put("measuredSeconds", r.measuredSeconds());
                    n.put("ratio", r.ratio());
                    n.put("iterations", r.measuredIterations());
                    n.put("load", load());
                    ArrayNode cl = n.putArray("classes");
                    for (PredictionCheck.ClassTime t : r.classes()) {
                        ObjectNode ct = cl.addObject();
                        ct.put("class", t.name());
                        ct.put("steps", t.steps());
                        ct.put("predictedSeconds", t.predictedSeconds());
                        ct.put("measuredSeconds", t.measuredSeconds());
                    }
                } else {
                    out.printf(Locale.ROOT, "%-18s %5d %14.2f %13.2f %7.2f %6s%n", r.model(), r.batch(),
                            1e3 * r.predictedSeconds(), 1e3 * r.measuredSeconds(), r.ratio(), load());
                    // where the miss is: the classes whose predicted and measured times differ most
                    for (PredictionCheck.ClassTime t : r.classes().subList(0, Math.min(DOMINANT, r.classes().size())))
                        out.printf(Locale.ROOT, "    %-26s %4d steps %8.2f %13.2f%n", t.name(), t.steps(),
                                1e3 * t.predictedSeconds(), 1e3 * t.measuredSeconds());
                    out.flush();
                }
            }
            if (!json) out.println(outside == 0 ? "every model within 25% of its measured time"
                    : outside + " model(s) outside 25% of the measured time (ratio = predicted / measured; the "
                    + "lower quartile of steady-state iterations)");
        }
        if (json) out.println(Json.write(o));
        return 0;
    }

    /** How many op classes the check prints under each model. */
    static final int DOMINANT = 8;

    private static String phase(Phase p) {
        return p == Phase.FORWARD ? "fwd" : p == Phase.BACKWARD ? "bwd" : "update";
    }

    static ObjectNode figures(CpuCostModel m) {
        ObjectNode f = Json.object();
        CalibrationCache.putModel(f, m, CalibrateCommand::phase);
        return f;
    }

    private Map<String, Integer> chosenModels() {
        if (models == null || models.isEmpty()) return CHECK_MODELS;
        Map<String, Integer> m = new LinkedHashMap<>();
        for (String s : models) {
            String[] p = s.trim().split(":", -1);
            if (!SampleModels.exists(p[0]))
                throw new CliException("--models: no sample model '" + p[0] + "' (see `memplan models`)");
            int batch = CHECK_MODELS.getOrDefault(p[0], 1);
            if (p.length > 1) {
                try {
                    batch = Integer.parseInt(p[1]);
                } catch (NumberFormatException e) {
                    batch = -1;
                }
                if (batch < 1 || batch > 4096)
                    throw new CliException("--models: batch of '" + s + "' must be 1..4096");
            }
            m.put(p[0], batch);
        }
        return m;
    }

    /** The system load average over the last minute, as `uptime` shows it (timing on a shared machine is noisy). */
    static String load() {
        double l = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return l < 0 ? "n/a" : String.format(Locale.ROOT, "%.2f", l);
    }
}

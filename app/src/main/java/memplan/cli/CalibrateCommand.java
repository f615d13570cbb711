package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.calibration.CpuCalibration;
import memplan.calibration.PredictionCheck;
import memplan.exec.ProgressListener;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.samples.SampleModels;
import memplan.sim.CpuCostModel;
import memplan.train.Optimizer;
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
        description = "Measure the cpu device model on this machine (probes through the CPU backend's kernels: "
                + "small and mid-size matrix products, a convolution, memory bandwidth, per-op cost), cache it and "
                + "print the figures. With --check, run real iterations of the zoo models on the CPU backend and "
                + "print predicted against measured iteration time.")
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

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Map<String, Integer> chosen = chosenModels();
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
            if (c.probes() != null) o.put("probeSeconds", c.probes().elapsedSeconds());
            ObjectNode f = o.putObject("model");
            f.put("overheadSeconds", m.overheadSeconds());
            f.put("optimizerOverheadSeconds", m.optimizerOverheadSeconds());
            f.put("memoryBytesPerSecond", m.memoryBytesPerSecond());
            f.put("smallGemmFlops", m.smallGemmFlops());
            f.put("smallGemmFlopsPerSecond", m.smallGemmFlopsPerSecond());
            f.put("midGemmFlops", m.midGemmFlops());
            f.put("midGemmFlopsPerSecond", m.midGemmFlopsPerSecond());
            f.put("gemmBackwardShare", m.gemmBackwardShare());
            f.put("convShare", m.convShare());
            f.put("convBackwardShare", m.convBackwardShare());
        } else {
            out.printf(Locale.ROOT, "cpu device model of %s, %d cores, %d threads, %s, MemPlan %s (kernels %s)%n",
                    c.key().cpuModel(), c.key().cores(), c.key().threads(), c.key().jvm(),
                    c.key().memplanVersion(), c.key().kernels());
            out.println(c.measured() ? String.format(Locale.ROOT, "measured now (probes took %.1f s, load %s); "
                    + "cached in %s", c.probes().elapsedSeconds(), load(), c.file()) : "from the cache " + c.file());
            out.printf(Locale.ROOT, "  per-op cost               %8.3f ms (optimizer update %.3f ms)%n",
                    1e3 * m.overheadSeconds(), 1e3 * m.optimizerOverheadSeconds());
            out.printf(Locale.ROOT, "  memory bandwidth          %8.2f GB/s (elementwise kernels)%n",
                    m.memoryBytesPerSecond() / 1e9);
            out.printf(Locale.ROOT, "  small product (%.2g FLOP) %8.2f GFLOP/s%n", m.smallGemmFlops(),
                    m.smallGemmFlopsPerSecond() / 1e9);
            out.printf(Locale.ROOT, "  mid product (%.2g FLOP)   %8.2f GFLOP/s%n", m.midGemmFlops(),
                    m.midGemmFlopsPerSecond() / 1e9);
            out.printf(Locale.ROOT, "  product backward          %8.2f x forward%n", m.gemmBackwardShare());
            out.printf(Locale.ROOT, "  convolution               %8.2f x product; backward %.2f x forward%n",
                    m.convShare(), m.convBackwardShare());
        }
        if (check) {
            ArrayNode rows = o.putArray("check");
            if (!json) out.printf(Locale.ROOT, "%n%-18s %5s %14s %13s %7s %6s%n", "model", "batch", "predicted ms",
                    "measured ms", "ratio", "load");
            int outside = 0;
            for (Map.Entry<String, Integer> e : chosen.entrySet()) {
                Graph g = Graph.instantiate(SampleModels.load(e.getKey()), e.getValue(), DType.FP32);
                PredictionCheck r = PredictionCheck.run(TrainingGraph.derive(g, Optimizer.SGD), c.device(),
                        new ProgressListener() { }, () -> false);
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
                } else {
                    out.printf(Locale.ROOT, "%-18s %5d %14.2f %13.2f %7.2f %6s%n", r.model(), r.batch(),
                            1e3 * r.predictedSeconds(), 1e3 * r.measuredSeconds(), r.ratio(), load());
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

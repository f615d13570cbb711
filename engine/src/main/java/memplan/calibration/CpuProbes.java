package memplan.calibration;

import memplan.backend.cpu.CpuBackend;
import memplan.exec.Executor;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.graph.Graph;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.sim.EventKind;
import memplan.sim.OpCostClass;
import memplan.sim.TimelineEvent;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TrainingGraph;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

/**
 * Small training models run through the executor on the CPU backend, so the probes time the same kernels, arena
 * and executor a real run uses: a small and a mid-size matrix product, a convolution, an elementwise chain for
 * memory bandwidth, and a chain of tiny ops for the fixed cost per op. Each probe repeats one layer so a step's
 * time is a lower quartile over runs, averaged over layers; a first pass over all of them warms up the JIT and is
 * not counted.
 */
public final class CpuProbes {
    public static final String OVERHEAD = "overhead", GEMM_SMALL = "gemm-small", GEMM_MID = "gemm-mid",
            CONV = "conv", MEMORY = "memory";

    /**
     * Timed runs of each probe (one iteration each; the executor keeps the last iteration's timeline), and the
     * iterations of the overhead probe, whose time per op comes from the second half of them.
     */
    private static final int RUNS = 3, OVERHEAD_ITERATIONS = 40;
    private static final Pattern TIMED = Pattern.compile("p[1-9]\\d*");

    private CpuProbes() {
    }

    /**
     * The probe models: name and model JSON. The chain's layers are {@code p0, p1, ...}; all but p0 (whose input
     * is data, so its backward pass is smaller) are timed.
     */
    static Map<String, String> models() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(OVERHEAD, overheadModel());
        m.put(GEMM_SMALL, model(GEMM_SMALL, "[64,64]", null, "x", 12,
                "\"op\":\"Linear\",\"out\":64,\"bias\":false", "[64]", ""));
        // as large as the products of the models people run here (ResNet's convolutions are 1e8-1e9 FLOPs), and
        // large enough that the backend splits it across its threads as it does theirs
        m.put(GEMM_MID, model(GEMM_MID, "[512,1024]", null, "x", 3,
                "\"op\":\"Linear\",\"out\":1024,\"bias\":false", "[512]", ""));
        // a 3x3 convolution of ResNet's first stage (64 channels), on a smaller image
        m.put(CONV, model(CONV, "[2,64,28,28]", null, "x", 3,
                "\"op\":\"Conv2d\",\"out\":64,\"kernel\":3,\"padding\":1,\"bias\":false", "[2]",
                "{\"name\":\"gap\",\"op\":\"GlobalAvgPool\",\"inputs\":[\"LAST\"]},"
                        + "{\"name\":\"flat\",\"op\":\"Flatten\",\"inputs\":[\"gap\"]},"));
        m.put(MEMORY, memoryModel());
        return m;
    }

    /**
     * Small blocks of the ops real models are made of (product, norm, activation, residual add, softmax), so the
     * cost of an op that does little work includes the set-up of varied kernels, as in a small model.
     */
    private static String overheadModel() {
        StringBuilder b = new StringBuilder("{\"format\":\"memplan-model\",\"version\":1,\"name\":\"probe-")
                .append(OVERHEAD).append("\",\"layers\":[")
                .append("{\"name\":\"x\",\"op\":\"Input\",\"shape\":[8,32]},")
                .append("{\"name\":\"target\",\"op\":\"Input\",\"shape\":[8],\"dtype\":\"int64\"},");
        String prev = "x";
        for (int i = 0; i < 4; i++) {
            String[][] layers = {
                    {"fc" + i, "\"op\":\"Linear\",\"out\":32", prev},
                    {"ln" + i, "\"op\":\"LayerNorm\"", "fc" + i},
                    {"act" + i, "\"op\":\"GELU\"", "ln" + i},
                    {"relu" + i, "\"op\":\"ReLU\"", "act" + i},
                    {"sm" + i, "\"op\":\"Softmax\"", "relu" + i}};
            for (String[] l : layers)
                b.append("{\"name\":\"").append(l[0]).append("\",").append(l[1]).append(",\"inputs\":[\"")
                        .append(l[2]).append("\"]},");
            b.append("{\"name\":\"add").append(i).append("\",\"op\":\"Add\",\"inputs\":[\"sm").append(i)
                    .append("\",\"").append(prev).append("\"]},");
            prev = "add" + i;
        }
        return b.append("{\"name\":\"loss\",\"op\":\"CrossEntropy\",\"inputs\":[\"").append(prev)
                .append("\",\"target\"]}]}").toString();
    }

    /**
     * Elementwise kernels as activations meet them: ReLU, a residual Add and a Mul on an activation-sized tensor
     * (a LayerNorm in front gives the chain a backward pass). Their kernels differ in speed, so the bandwidth is
     * that of the mix.
     */
    private static String memoryModel() {
        StringBuilder b = new StringBuilder("{\"format\":\"memplan-model\",\"version\":1,\"name\":\"probe-")
                .append(MEMORY).append("\",\"layers\":[")
                .append("{\"name\":\"x\",\"op\":\"Input\",\"shape\":[4,64,32,32]},")
                .append("{\"name\":\"target\",\"op\":\"Input\",\"shape\":[4],\"dtype\":\"int64\"},")
                .append("{\"name\":\"ln\",\"op\":\"LayerNorm\",\"inputs\":[\"x\"]},");
        String prev = "ln";
        for (int i = 0; i < 4; i++) {
            String r = "p" + 3 * i, a = "p" + (3 * i + 1), m = "p" + (3 * i + 2);
            b.append("{\"name\":\"").append(r).append("\",\"op\":\"ReLU\",\"inputs\":[\"").append(prev)
                    .append("\"]},{\"name\":\"").append(a).append("\",\"op\":\"Add\",\"inputs\":[\"").append(r)
                    .append("\",\"ln\"]},{\"name\":\"").append(m).append("\",\"op\":\"Mul\",\"inputs\":[\"")
                    .append(a).append("\",\"ln\"]},");
            prev = m;
        }
        return b.append("{\"name\":\"gap\",\"op\":\"GlobalAvgPool\",\"inputs\":[\"").append(prev)
                .append("\"]},{\"name\":\"flat\",\"op\":\"Flatten\",\"inputs\":[\"gap\"]},")
                .append("{\"name\":\"loss\",\"op\":\"CrossEntropy\",\"inputs\":[\"flat\",\"target\"]}]}")
                .toString();
    }

    /**
     * A chain {@code x -> [first] -> p0 -> ... -> p(n-1) -> [head] -> cross-entropy}; {@code LAST} in the head
     * stands for the chain's last layer.
     */
    private static String model(String name, String shape, String first, String chainInput, int n, String layer,
                                String targetShape, String head) {
        StringBuilder b = new StringBuilder("{\"format\":\"memplan-model\",\"version\":1,\"name\":\"probe-")
                .append(name).append("\",\"layers\":[")
                .append("{\"name\":\"x\",\"op\":\"Input\",\"shape\":").append(shape).append("},")
                .append("{\"name\":\"target\",\"op\":\"Input\",\"shape\":").append(targetShape)
                .append(",\"dtype\":\"int64\"},");
        if (first != null) b.append(first).append(',');
        String prev = chainInput;
        for (int i = 0; i < n; i++) {
            b.append("{\"name\":\"p").append(i).append("\",").append(layer).append(",\"inputs\":[\"").append(prev)
                    .append("\"]},");
            prev = "p" + i;
        }
        String h = head.replace("LAST", prev);
        b.append(h);
        String logits = h.isEmpty() ? prev : h.substring(h.lastIndexOf("{\"name\":\"") + 9).split("\"")[0];
        b.append("{\"name\":\"loss\",\"op\":\"CrossEntropy\",\"inputs\":[\"").append(logits)
                .append("\",\"target\"]}]}");
        return b.toString();
    }

    /** Runs every probe; {@code progress} hears the share done and the probe's name. */
    public static ProbeResults measure(ProgressListener progress, BooleanSupplier cancelled) {
        long t0 = System.nanoTime();
        Map<String, Schedule> probes = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : models().entrySet()) {
            ModelDef def = ModelJson.parse(e.getValue(), "cpu calibration probe " + e.getKey());
            probes.put(e.getKey(), TrainingGraph.derive(Graph.instantiate(def, 1, DType.FP32), Optimizer.SGD));
        }
        // one pass over all probes first: the JIT compiles the executor and the kernels before anything is timed
        int done = 0, total = 2 * probes.size();
        for (Map.Entry<String, Schedule> e : probes.entrySet()) {
            check(cancelled);
            progress.progress((double) done++ / total, "warming up " + e.getKey());
            runOnce(e.getValue(), e.getKey().equals(OVERHEAD) ? OVERHEAD_ITERATIONS : 1);
        }
        List<ProbeSample> samples = new ArrayList<>();
        double opSeconds = 0, inStep = 0, optimizerSeconds = 0;
        for (Map.Entry<String, Schedule> e : probes.entrySet()) {
            Schedule s = e.getValue();
            boolean overhead = e.getKey().equals(OVERHEAD);
            Map<Integer, List<Double>> byStep = new TreeMap<>();
            List<Double> iterations = new ArrayList<>(), tiny = new ArrayList<>(), updates = new ArrayList<>();
            for (int run = 0; run < (overhead ? 1 : RUNS); run++) {
                check(cancelled);
                progress.progress((double) done++ / total, "probing " + e.getKey());
                RunResult r = runOnce(s, overhead ? OVERHEAD_ITERATIONS : 1);
                for (int i = r.iterations().size() / 2; i < r.iterations().size(); i++)
                    iterations.add(r.iterations().get(i).seconds());
                for (TimelineEvent ev : r.measuredTimeline().events()) {
                    if (ev.kind() != EventKind.COMPUTE || ev.step() < 0) continue;
                    Step st = s.step(ev.step());
                    double t = ev.endSeconds() - ev.startSeconds();
                    if (st.phase() == Phase.OPTIMIZER) updates.add(t);
                    else if (overhead) tiny.add(t);
                    else if (TIMED.matcher(s.graph().nodes().get(st.node()).name()).matches())
                        byStep.computeIfAbsent(st.index(), k -> new ArrayList<>()).add(t);
                }
            }
            for (Phase ph : List.of(Phase.FORWARD, Phase.BACKWARD)) {
                // the mean over the timed layers of each layer's lower quartile over runs
                double flops = 0, bytes = 0, secs = 0;
                int n = 0;
                OpCostClass c = null;
                for (Map.Entry<Integer, List<Double>> t : byStep.entrySet()) {
                    Step st = s.step(t.getKey());
                    if (st.phase() != ph) continue;
                    flops += st.flops();
                    bytes += st.bytesAccessed();
                    secs += quantile(t.getValue(), TIME_QUANTILE);
                    n++;
                    c = OpCostClass.of(s.graph().nodes().get(st.node()).op());
                }
                if (n > 0) samples.add(new ProbeSample(e.getKey(), c, ph, Math.round(flops / n),
                        Math.round(bytes / n), secs / n));
            }
            if (overhead) {
                int ops = 0, opt = 0;
                for (Step st : s.steps()) if (st.phase() != Phase.OPTIMIZER) ops++; else opt++;
                optimizerSeconds = quantile(updates, TIME_QUANTILE);
                opSeconds = Math.max(0, quantile(iterations, TIME_QUANTILE) - opt * optimizerSeconds) / ops;
                inStep = quantile(tiny, TIME_QUANTILE);
            }
        }
        progress.progress(1, "probes done");
        return new ProbeResults(samples, opSeconds, inStep, optimizerSeconds, (System.nanoTime() - t0) / 1e9);
    }

    private static void check(BooleanSupplier cancelled) {
        if (cancelled.getAsBoolean()) throw new CalibrationException("calibration of the cpu device cancelled");
    }

    private static RunResult runOnce(Schedule s, int iterations) {
        Plan plan = Plan.baseline(s);
        try (CpuBackend b = new CpuBackend(1L << 30)) {
            return new Executor(plan, DeviceModel.preset("cpu")).run(b, new RunConfig(iterations, 1e-3, 7),
                    new ProgressListener() { }, () -> false);
        }
    }

    /**
     * The {@code q} quantile (linear between neighbours). Probes and checks use the lower quartile: other work on a
     * shared machine only ever adds time, so the lower quartile is the steadier estimate of the kernels' own time.
     */
    public static double quantile(List<Double> xs, double q) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (a.length == 0) return 0;
        double pos = q * (a.length - 1);
        int lo = (int) Math.floor(pos), hi = Math.min(a.length - 1, lo + 1);
        return a[lo] + (a[hi] - a[lo]) * (pos - lo);
    }

    /** The quantile that probes and checks take of repeated times. */
    public static final double TIME_QUANTILE = 0.25;
}

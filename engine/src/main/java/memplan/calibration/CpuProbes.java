package memplan.calibration;

import memplan.backend.cpu.CpuBackend;
import memplan.exec.Executor;
import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.plan.Plan;
import memplan.sim.CpuCostModel;
import memplan.sim.DeviceModel;
import memplan.sim.EventKind;
import memplan.sim.OpCostClass;
import memplan.sim.ProductDims;
import memplan.sim.TimelineEvent;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;
import memplan.train.TrainingGraph;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/**
 * Small training models ({@link ProbeModels}) run through the executor on the CPU backend, so the probes time the
 * same kernels, arena and executor a real run uses. Every step of every probe is a sample (the lower quartile of
 * its time over runs); each run also gives the executor's time outside the steps. Each probe first runs until its
 * iteration time stops falling, so what is timed is JIT-compiled code, as in a real run's steady state; those runs
 * are not counted.
 */
public final class CpuProbes {
    /**
     * Timed runs of each probe: at least {@code MIN_RUNS}, more for a short probe (up to {@code MAX_RUNS}, within
     * about {@code RUN_BUDGET_SECONDS}), since a short step's quartile needs more runs on a busy machine; and
     * iterations per run (the executor keeps the last one's timeline, the first touches the fresh arena).
     */
    private static final int MIN_RUNS = 3, MAX_RUNS = 15, ITERATIONS = 2;
    private static final int MAX_WARMUP_ITERATIONS = 40;
    private static final double RUN_BUDGET_SECONDS = 0.1;
    private static final double WARMUP_BUDGET_SECONDS = 0.3, WARM_GAIN = 0.1;

    /**
     * A probe whose warm iteration came out at least this long in the warm-up pass is run once more after it, to
     * tell a long probe from one that warmed up in a cold JVM. (A second timed pass for the short probes, pooled
     * with the first, was tried because the first ran while the JIT was still compiling; it gave no better checks,
     * {@code calibrate --check} three runs each way alternately on a quiet machine: 5, 5 and 5 of 8 models within
     * 25% with it, 5, 7 and 5 without, and cost 3 s more.)
     */
    private static final double LONG_SECONDS = 0.01;
    /**
     * Iterations of the smallest probe of each kind ({@link ProbeModels#jitWarmUps}) before the probes. HotSpot
     * compiles a method with its optimising compiler only after some 600 calls (with enough loop iterations), and
     * a kernel a probe calls twice per iteration stayed in the profiling tier through the probe's whole warm-up
     * (its time stops falling there): the transformer probe's RMSNorm backward took 135-430 us in the probes
     * against 25-36 us compiled (-XX:+PrintCompilation showed it at tier 3 only), and tiny-llama was predicted
     * too slow in 4 of 5 checks (1.09-1.91). On two cores the compiler's queue falls behind, so they run in two
     * rounds (half as many iterations first), each followed by a wait for the compiler to go idle. Smaller twins (a
     * transformer of width 16) were tried: their kernels were optimised for paths the probes' sizes leave, and
     * undone during the probes. Measured, {@code calibrate --check} (quiet): 39 of 48 model checks within 25% in
     * six runs with this warm-up, 29 of 40 in five without (docs/benchmarks.md); it makes the probes about 7 s
     * longer (13 to 20 s).
     */
    static final int JIT_ITERATIONS = 700;

    /** Longest wait for the JIT's compiler threads to go idle, and how long unchanged counts as idle. */
    private static final long COMPILER_WAIT_MS = 3000, COMPILER_QUIET_MS = 150;

    private CpuProbes() {
    }

    /**
     * Waits (at most {@link #COMPILER_WAIT_MS}) until the JIT's total compilation time stops growing, where the
     * JVM reports it; shared with {@link PredictionCheck}, whose measurement wants the same steady state.
     */
    static void awaitCompilerIdle(BooleanSupplier cancelled) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) return;
        long until = System.nanoTime() + COMPILER_WAIT_MS * 1_000_000, last = jit.getTotalCompilationTime();
        while (System.nanoTime() < until && !cancelled.getAsBoolean()) {
            try {
                Thread.sleep(COMPILER_QUIET_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = jit.getTotalCompilationTime();
            if (now == last) return;
            last = now;
        }
    }

    /** The probe models: name and model JSON. */
    static Map<String, String> models() {
        return ProbeModels.all();
    }

    /** Runs every probe; {@code progress} hears the share done and the probe's name. */
    public static ProbeResults measure(ProgressListener progress, BooleanSupplier cancelled) {
        long t0 = System.nanoTime();
        Map<String, Schedule> probes = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : models().entrySet()) {
            ModelDef def = ModelJson.parse(e.getValue(), "cpu calibration probe " + e.getKey());
            probes.put(e.getKey(), TrainingGraph.derive(Graph.instantiate(def, 1, DType.FP32), Optimizer.SGD));
        }
        // the smallest probe of each kind first, many times, so that every kernel is compiled fully before any
        // probe is timed: a first round gets them to the profiling tier, a second (once the compiler has caught
        // up) to the optimising one
        for (int round = 0; round < 2; round++) {
            for (String name : ProbeModels.jitWarmUps()) {
                check(cancelled);
                progress.progress(0, "compiling the kernels (" + name + ")");
                runOnce(probes.get(name), round == 0 ? JIT_ITERATIONS / 2 : JIT_ITERATIONS);
            }
            awaitCompilerIdle(cancelled);
        }
        // one pass over all probes first, each until warm: the JIT compiles the executor and the kernels
        // progress: the warm-up pass is the first half, the timed passes the second
        int done = 0, total = probes.size();
        Map<String, Integer> runsOf = new LinkedHashMap<>();
        Map<String, Double> warmSeconds = new LinkedHashMap<>();
        for (Map.Entry<String, Schedule> e : probes.entrySet()) {
            check(cancelled);
            progress.progress(0.5 * done++ / total, "warming up " + e.getKey());
            double secs = warmUp(e.getValue(), cancelled);
            warmSeconds.put(e.getKey(), secs);
            runsOf.put(e.getKey(), timedRuns(secs));
        }
        // the first probes warmed up in a cold JVM (the executor and the shared kernels not yet compiled) can come
        // out long: one more run of two iterations of each long one tells, and a short one warms up again
        for (Map.Entry<String, Schedule> e : probes.entrySet()) {
            if (warmSeconds.get(e.getKey()) < LONG_SECONDS) continue;
            check(cancelled);
            double secs = Math.min(warmSeconds.get(e.getKey()), fastest(runOnce(e.getValue(), ITERATIONS)));
            if (secs < LONG_SECONDS) secs = Math.min(secs, warmUp(e.getValue(), cancelled));
            warmSeconds.put(e.getKey(), secs);
            runsOf.put(e.getKey(), timedRuns(secs));
        }
        List<ProbeSample> samples = new ArrayList<>();
        List<ProbeResults.Run> runs = new ArrayList<>();
        // the JIT's compiler threads share the cores with the probes: let them finish what the warm-up queued, so
        // the times are of compiled code on otherwise idle cores
        awaitCompilerIdle(cancelled);
        done = 0;
        for (Map.Entry<String, Schedule> e : probes.entrySet()) {
            Schedule s = e.getValue();
            Map<Integer, List<Double>> byStep = new TreeMap<>();
            check(cancelled);
            progress.progress(0.5 + 0.5 * done++ / total, "probing " + e.getKey());
            // a short probe warms up again right before it is timed, so its kernels are compiled as they are in
            // a real run's steady state, whatever the probes since its warm-up did to the JIT's shared call sites
            if (runsOf.get(e.getKey()) > MIN_RUNS) runOnce(s, warmUpIterations(warmSeconds.get(e.getKey())));
            for (int run = 0; run < runsOf.get(e.getKey()); run++) {
                check(cancelled);
                RunResult r = runOnce(s, ITERATIONS);
                Map<Integer, Double> steps = stepTimes(r);
                double sum = 0;
                for (Map.Entry<Integer, Double> t : steps.entrySet()) {
                    byStep.computeIfAbsent(t.getKey(), k -> new ArrayList<>()).add(t.getValue());
                    sum += t.getValue();
                }
                runs.add(new ProbeResults.Run(e.getKey(), steps.size(), dataBytes(s),
                        r.iterations().get(r.iterations().size() - 1).seconds(), sum));
            }
            for (Map.Entry<Integer, List<Double>> t : byStep.entrySet())
                samples.add(sample(e.getKey(), s, s.step(t.getKey()), quantile(t.getValue(), TIME_QUANTILE)));
        }
        progress.progress(1, "probes done");
        return new ProbeResults(samples, runs, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Runs a probe until its iteration time stops falling (by {@code WARM_GAIN}) from one run to the next, within
     * about {@code WARMUP_BUDGET_SECONDS}, and gives its fastest iteration. Judged by time, not by a count: the
     * first iteration of a probe runs interpreted code and can be 10x its steady state, and a probe judged long
     * by it got too few warm-up iterations for the JIT to compile its kernel loops before they were timed
     * (measured: GatedActivation's loop called 10 times in warm-up, its step 4x slower in the probes than in a
     * second calibration in the same JVM).
     */
    private static double warmUp(Schedule s, BooleanSupplier cancelled) {
        return warmUp(n -> runOnce(s, n), WARMUP_BUDGET_SECONDS, cancelled);
    }

    /** {@link #warmUp(Schedule, BooleanSupplier)} of any runs: {@code run} runs that many iterations. */
    static double warmUp(IntFunction<RunResult> run, double budgetSeconds, BooleanSupplier cancelled) {
        long until = System.nanoTime() + (long) (budgetSeconds * 1e9);
        double best = fastest(run.apply(1));
        // a run that would end past the budget is not started: the long probes are warm after their first
        while (best < Double.MAX_VALUE && System.nanoTime() + (long) (warmUpIterations(best) * best * 1e9) < until) {
            check(cancelled);
            double t = fastest(run.apply(warmUpIterations(best)));
            boolean faster = t < (1 - WARM_GAIN) * best;
            best = Math.min(best, t);
            if (!faster) break;
        }
        return Math.max(best, 1e-6);
    }

    /** Timed runs of a probe whose warm iteration takes {@code warmSeconds}: more for a shorter one. */
    private static int timedRuns(double warmSeconds) {
        return (int) Math.max(MIN_RUNS, Math.min(MAX_RUNS, RUN_BUDGET_SECONDS / (ITERATIONS * warmSeconds)));
    }

    /** Iterations of a warm-up run: about {@code RUN_BUDGET_SECONDS} of them, 2 to {@code MAX_WARMUP_ITERATIONS}. */
    private static int warmUpIterations(double iterationSeconds) {
        return (int) Math.max(2, Math.min(MAX_WARMUP_ITERATIONS, RUN_BUDGET_SECONDS / iterationSeconds));
    }

    private static double fastest(RunResult r) {
        double best = Double.MAX_VALUE;
        for (IterationResult it : r.iterations()) best = Math.min(best, it.seconds());
        return best;
    }

    /** The sample of one step: its class, the FLOPs its kernel runs, its bytes and, for products, its shape. */
    static ProbeSample sample(String probe, Schedule s, Step st, double seconds) {
        Node node = st.node() >= 0 ? s.graph().nodes().get(st.node()) : null;
        OpCostClass c = OpCostClass.of(node);
        long flops = CpuCostModel.kernelFlops(s, st);
        ProductDims dims = c.product() && flops > 0 ? ProductDims.of(node) : null;
        return new ProbeSample(probe, c, node == null ? null : node.op().type(), st.phase(), flops,
                st.bytesAccessed(), dims, seconds);
    }

    static long dataBytes(Schedule s) {
        long b = 0;
        for (TensorInfo t : s.tensors()) if (t.kind() == TensorKind.DATA) b += t.bytes();
        return b;
    }

    /** Seconds of each step of the last iteration a run measured, by step index. */
    public static Map<Integer, Double> stepTimes(RunResult r) {
        Map<Integer, Double> out = new TreeMap<>();
        if (r.measuredTimeline() == null) return out;
        for (TimelineEvent ev : r.measuredTimeline().events())
            if (ev.kind() == EventKind.COMPUTE && ev.step() >= 0)
                out.merge(ev.step(), ev.endSeconds() - ev.startSeconds(), Double::sum);
        return out;
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

package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.backend.Backend;
import memplan.backend.cpu.CpuBackendProvider;
import memplan.backend.cpu.Gemm;
import memplan.backend.cpu.GemmBench;
import memplan.backend.cpu.GemmBench.GemmSpeed;
import memplan.backend.cpu.WinogradConv;
import memplan.exec.Executor;
import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

/**
 * `memplan bench cpu`: the CPU backend's speed. The FMA peak of the machine (a probe in a child JVM), GEMM GFLOP/s
 * at the given sizes as a share of it, and the steady-state training step time of sample models (baseline plan,
 * after warm-up iterations, median of the timed ones), all at the given thread count.
 */
@Command(name = "cpu", mixinStandardHelpOptions = true,
        description = "CPU backend speed: FMA peak, GEMM GFLOP/s, training step time per sample model.")
public final class BenchCpuCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", arity = "0..*",
            description = "Sample models whose training step to time (none: GEMM only).")
    List<String> models = new ArrayList<>();

    @Option(names = "--model", paramLabel = "MODEL", description = "A sample model to time (repeatable).")
    List<String> modelOptions = new ArrayList<>();

    @Option(names = "--batch", defaultValue = "8", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--optimizer", defaultValue = "sgd", description = "sgd or adam (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--threads", description = "Threads (default: the machine's processors).")
    Integer threads;

    @Option(names = "--warmup", defaultValue = "2",
            description = "Untimed iterations first (default: ${DEFAULT-VALUE}).")
    int warmup;

    // A tiny model's step is far below a millisecond: a handful of iterations leaves it in the interpreter, so
    // warm-up also lasts at least this long (the JIT compiles the kernels it runs).
    @Option(names = "--warmup-seconds", defaultValue = "2",
            description = "Warm up for at least this long as well (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--iterations", defaultValue = "5",
            description = "Timed iterations per model (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--gemm", split = ",", defaultValue = "1024,2048",
            description = "GEMM sizes n for n x n x n (default: ${DEFAULT-VALUE}; 0 for none).")
    List<Integer> gemmSizes;

    @Option(names = "--no-peak", description = "Skip the FMA peak probe.")
    boolean noPeak;

    @Option(names = "--compare-conv", description = "Time each step with 3x3 stride-1 convolutions by im2col and by "
            + "Winograd's algorithm, alternately, and print both.")
    boolean compareConv;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    static final int MAX_THREADS = 1024, MAX_ITERATIONS = 10_000, MAX_GEMM = 8192;
    /** A GEMM below this share of the peak suggests OpenBLAS runs a generic kernel for this CPU. */
    static final double LOW_SHARE = 0.4;
    /** Seconds each GEMM size is timed for (best of the runs in that time, at least five). */
    static final double GEMM_SECONDS = 1.0;

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The probe's result, or why there is none. */
    record Peak(double gflops, String unavailable) {
    }

    @Override
    public Integer call() {
        int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (t < 1 || t > MAX_THREADS) throw new CliException("--threads must be 1.." + MAX_THREADS + ", got " + t);
        if (warmup < 0 || warmup > MAX_ITERATIONS) throw new CliException("--warmup must be 0.." + MAX_ITERATIONS
                + ", got " + warmup);
        if (!(warmupSeconds >= 0 && warmupSeconds <= 600)) throw new CliException("--warmup-seconds must be 0..600"
                + ", got " + warmupSeconds);
        if (iterations < 1 || iterations > MAX_ITERATIONS) throw new CliException("--iterations must be 1.."
                + MAX_ITERATIONS + ", got " + iterations);
        if (batch < 1) throw new CliException("--batch must be positive, got " + batch);
        for (int n : gemmSizes)
            if (n < 0 || n > MAX_GEMM) throw new CliException("--gemm sizes must be 0.." + MAX_GEMM + ", got " + n);
        List<String> all = new ArrayList<>(models);
        all.addAll(modelOptions);
        List<Schedule> schedules = new ArrayList<>();
        for (String m : all) schedules.add(BenchCommand.schedule(m, batch, optimizer));

        PrintWriter out = spec.commandLine().getOut();
        String impl = "CPU backend, GEMM: " + Gemm.implementation();
        Peak peak = noPeak ? new Peak(Double.NaN, "not probed (--no-peak)") : probePeak(t);
        ObjectNode root = Json.object();
        root.put("threads", t);
        root.put("backend", impl);
        if (peak.unavailable == null) root.put("fmaPeakGflops", peak.gflops);
        else root.put("fmaPeakUnavailable", peak.unavailable);
        if (!json) {
            out.printf(Locale.ROOT, "%s; %d threads%n", impl, t);
            out.println(peak.unavailable == null ? String.format(Locale.ROOT, "FMA peak (fp32): %.1f GFLOP/s",
                    peak.gflops) : "FMA peak: " + peak.unavailable);
        }
        ArrayNode gemms = root.putArray("gemm");
        for (int n : gemmSizes) {
            if (n == 0) continue;
            GemmSpeed g = GemmBench.measure(n, t, 5, GEMM_SECONDS);
            ObjectNode o = gemms.addObject();
            o.put("n", n);
            o.put("seconds", g.seconds());
            o.put("gflops", g.gflops());
            if (peak.unavailable == null) o.put("shareOfPeak", g.gflops() / peak.gflops);
            o.put("maxRelativeError", g.maxRelativeError());
            if (!json) {
                out.printf(Locale.ROOT, "GEMM %d^3: %.1f GFLOP/s%s, max relative error %.1e%n", n, g.gflops(),
                        peak.unavailable == null ? String.format(Locale.ROOT, " (%.0f%% of peak)",
                                100 * g.gflops() / peak.gflops) : "", g.maxRelativeError());
                if (peak.unavailable == null && g.gflops() < LOW_SHARE * peak.gflops)
                    out.println("note: below " + Math.round(100 * LOW_SHARE) + "% of peak; if OpenBLAS does not "
                            + "recognise this CPU, OPENBLAS_CORETYPE=SkylakeX (or Haswell) selects a kernel, and "
                            + "OPENBLAS_VERBOSE=2 prints the one it chose");
            }
            if (g.maxRelativeError() > 1e-4)
                throw new CliException("GEMM " + n + "^3 gave wrong results (relative error "
                        + g.maxRelativeError() + "): " + g.implementation());
        }
        ArrayNode steps = root.putArray("models");
        for (Schedule s : schedules) {
            if (compareConv) {
                compare(s, t, steps, out);
                continue;
            }
            double[] secs = stepSeconds(s, t);
            double median = median(secs), min = Arrays.stream(secs).min().orElseThrow();
            ObjectNode o = modelRow(steps, s);
            o.put("medianSeconds", median);
            o.put("minSeconds", min);
            var arr = o.putArray("seconds");
            for (double x : secs) arr.add(x);
            if (!json) out.printf(Locale.ROOT, "%-18s batch %d %s: step %.4f s (median of %d, min %.4f)%n",
                    s.graph().model().name(), s.graph().batch(), optimizer, median, secs.length, min);
        }
        if (json) out.println(Json.write(root));
        return 0;
    }

    /** Both algorithms' step times, alternately: a drifting machine then slows both alike. */
    private void compare(Schedule s, int t, ArrayNode steps, PrintWriter out) {
        boolean was = WinogradConv.isEnabled();
        double[] im2col = new double[iterations], winograd = new double[iterations];
        try {
            for (int i = 0; i < iterations; i++) {
                WinogradConv.setEnabled(false);
                im2col[i] = stepSeconds(s, t, i == 0 ? warmupSeconds : 0, i == 0 ? warmup : 1, 1)[0];
                WinogradConv.setEnabled(true);
                winograd[i] = stepSeconds(s, t, i == 0 ? warmupSeconds : 0, i == 0 ? warmup : 1, 1)[0];
            }
        } finally {
            WinogradConv.setEnabled(was);
        }
        double a = median(im2col), b = median(winograd);
        ObjectNode o = modelRow(steps, s);
        o.put("medianSecondsIm2col", a);
        o.put("medianSecondsWinograd", b);
        if (!json) out.printf(Locale.ROOT, "%-18s batch %d %s: step %.4f s with 3x3 convolutions by im2col, %.4f s by "
                        + "Winograd (medians of %d, alternately): %.2fx%n", s.graph().model().name(),
                s.graph().batch(), optimizer, a, b, iterations, a / b);
    }

    /** A model's row of the JSON: its name, batch and optimizer. */
    private ObjectNode modelRow(ArrayNode steps, Schedule s) {
        ObjectNode o = steps.addObject();
        o.put("model", s.graph().model().name());
        o.put("batch", s.graph().batch());
        o.put("optimizer", optimizer);
        return o;
    }

    private static double median(double[] v) {
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** Seconds of each timed iteration of the baseline plan on the CPU backend, in a pool of t threads. */
    private double[] stepSeconds(Schedule s, int t) {
        return stepSeconds(s, t, warmupSeconds, warmup, iterations);
    }

    private double[] stepSeconds(Schedule s, int t, double warmFor, int warmRuns, int timed) {
        Executor.checkRunnable(s.graph());
        DeviceModel device = DeviceModel.preset("cpu");
        Plan plan = Plan.baseline(s);
        ForkJoinPool pool = new ForkJoinPool(t);
        try (Backend b = new CpuBackendProvider().open(8L << 30)) {
            // warm up by the clock, in runs of doubling length: the first iterations run in the interpreter, so a
            // count estimated from them stopped a sub-millisecond step's warm-up long before the JIT had finished
            long end = System.nanoTime() + (long) (warmFor * 1e9);
            for (int k = 1; System.nanoTime() < end; k = Math.min(MAX_ITERATIONS, 2 * k)) {
                int its = k;
                pool.submit(() -> new Executor(plan, device).run(b, new RunConfig(its, 0.01, 42),
                        ProgressListener.NONE, () -> false)).get();
            }
            int w = warmRuns;
            RunResult r = pool.submit(() -> new Executor(plan, device).run(b, new RunConfig(w + timed,
                    0.01, 42), ProgressListener.NONE, () -> false)).get();
            List<IterationResult> its = r.iterations();
            double[] secs = new double[timed];
            for (int i = 0; i < timed; i++) secs[i] = its.get(w + i).seconds();
            return secs;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdown();
        }
    }

    /**
     * Runs {@link FmaPeakProbe} in a child JVM (the Vector API needs --add-modules), with this JVM's java and class
     * path; a minute at most.
     */
    static Peak probePeak(int threads) {
        String java = ProcessHandle.current().info().command().orElse(null);
        if (java == null) return new Peak(Double.NaN, "unknown: cannot find this JVM's java executable");
        ProcessBuilder pb = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-cp",
                System.getProperty("java.class.path"), FmaPeakProbe.class.getName(), Integer.toString(threads));
        pb.redirectErrorStream(true);
        try {
            Process p = pb.start();
            String result = null;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; )
                    if (line.startsWith("fmaPeakGflops=")) result = line;
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Peak(Double.NaN, "unknown: the probe did not finish in a minute");
            }
            if (p.exitValue() != 0 || result == null)
                return new Peak(Double.NaN, "unknown: the probe failed (exit " + p.exitValue() + ")");
            return new Peak(Double.parseDouble(result.substring("fmaPeakGflops=".length()).split(" ")[0]), null);
        } catch (IOException e) {
            return new Peak(Double.NaN, "unknown: cannot start the probe (" + e.getMessage() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Peak(Double.NaN, "unknown: interrupted");
        }
    }
}

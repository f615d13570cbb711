package memplan.calibration;

import memplan.backend.cpu.CpuBackend;
import memplan.exec.Executor;
import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.graph.Node;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.sim.OpCostClass;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * Predicted against measured iteration time of one model on the CPU backend: the baseline plan simulated on a
 * device model, and real iterations of the same plan through the executor (the first ones warm the JIT up and
 * are not counted; the measured time is the lower quartile of the rest, as the probes take theirs). Where the
 * time goes is split by op class and phase, predicted against the last iteration's measured steps, with the
 * executor's time outside the steps as a row of its own: the rows that differ most are where the model misses.
 *
 * @param ratio   predicted / measured
 * @param classes per op class and phase, the largest difference first
 */
public record PredictionCheck(String model, int batch, double predictedSeconds, double measuredSeconds,
                              double ratio, int measuredIterations, List<ClassTime> classes) {

    /** The name of the row of the executor's own time between steps. */
    public static final String EXECUTOR = "executor";

    public PredictionCheck {
        classes = List.copyOf(classes);
    }

    /**
     * Predicted and measured seconds of the steps of one op type (named with its class) in one phase, of the
     * optimizer updates, or of the executor's own time.
     */
    public record ClassTime(String name, int steps, double predictedSeconds, double measuredSeconds) {
    }

    /** How many iterations a check runs: warm-up ones, then enough to take a quartile from. */
    public static int iterationsFor(double predictedSeconds) {
        // short iterations are noisy: more of them, within about a second of measuring
        return predictedSeconds < 0.02 ? 30 : predictedSeconds < 0.2 ? 10 : 5;
    }

    /**
     * Runs the check. Iterations shorter than {@link #SHORT_SECONDS} are measured as separate runs of two
     * iterations, timing the second (the first touches the fresh arena), as the probes measure theirs, so that each
     * step's time is a quartile over runs too; longer ones as one run whose last iteration gives the step times.
     */
    public static PredictionCheck run(Schedule s, DeviceModel device, ProgressListener progress,
                                      BooleanSupplier cancelled) {
        Plan plan = Plan.baseline(s);
        double predicted = Simulator.simulate(plan, device).iterationSeconds();
        int iterations = iterationsFor(predicted);
        int warmup = Math.max(1, iterations / 5);
        List<Double> secs = new ArrayList<>(), gaps = new ArrayList<>();
        Map<Integer, List<Double>> steps = new TreeMap<>();
        if (predicted < SHORT_SECONDS) {
            // warm until the iteration time stops falling, as the probes are: a fresh JVM's first dozen
            // iterations of a small model still run partly interpreted (measured: tiny-mlp 0.45 ms after a
            // fixed warm-up of 12 iterations, 0.22 ms once the probes had run in the same JVM)
            CpuProbes.warmUp(n -> runOnce(plan, device, n, progress, cancelled), WARMUP_SECONDS, cancelled);
            CpuProbes.awaitCompilerIdle(cancelled);
            for (int run = 0; run < warmup + iterations && !cancelled.getAsBoolean(); run++) {
                RunResult r = runOnce(plan, device, 2, progress, cancelled);
                if (run < warmup || r.cancelled() || r.iterations().size() < 2) continue;
                record(r, r.iterations().get(1).seconds(), secs, gaps, steps);
            }
        } else {
            CpuProbes.awaitCompilerIdle(cancelled);
            RunResult r = runOnce(plan, device, warmup + iterations, progress, cancelled);
            for (IterationResult it : r.iterations()) if (it.iteration() > warmup) secs.add(it.seconds());
            if (!secs.isEmpty()) record(r, r.iterations().get(r.iterations().size() - 1).seconds(), new ArrayList<>(),
                    gaps, steps);
        }
        if (secs.isEmpty()) throw new CalibrationException("the check of " + s.graph().model().name()
                + " was cancelled");
        double measured = CpuProbes.quantile(secs, CpuProbes.TIME_QUANTILE);
        Map<Integer, Double> stepTimes = new TreeMap<>();
        for (Map.Entry<Integer, List<Double>> e : steps.entrySet())
            stepTimes.put(e.getKey(), CpuProbes.quantile(e.getValue(), CpuProbes.TIME_QUANTILE));
        return new PredictionCheck(s.graph().model().name(), s.graph().batch(), predicted, measured,
                predicted / measured, secs.size(), classes(s, device, stepTimes,
                        CpuProbes.quantile(gaps, CpuProbes.TIME_QUANTILE)));
    }

    /** Longest warm-up of a short model before its timed runs. */
    static final double WARMUP_SECONDS = 1;

    /** Iterations shorter than this are measured as runs of two iterations. */
    static final double SHORT_SECONDS = 0.2;

    private static void record(RunResult r, double iteration, List<Double> secs, List<Double> gaps,
                               Map<Integer, List<Double>> steps) {
        secs.add(iteration);
        double sum = 0;
        for (Map.Entry<Integer, Double> e : CpuProbes.stepTimes(r).entrySet()) {
            steps.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue());
            sum += e.getValue();
        }
        gaps.add(Math.max(0, iteration - sum));
    }

    private static RunResult runOnce(Plan plan, DeviceModel device, int iterations, ProgressListener progress,
                                     BooleanSupplier cancelled) {
        try (CpuBackend b = new CpuBackend(Math.max(device.capacityBytes(), 8L << 30))) {
            return new Executor(plan, device).run(b, new RunConfig(iterations,
                    plan.schedule().optimizer() == Optimizer.ADAM ? 1e-3 : 1e-2, 42), progress, cancelled);
        }
    }

    /**
     * Per op class and phase, the predicted and measured time of its steps; the executor's row is the measured
     * time of an iteration beyond its steps against the model's per-step cost.
     */
    static List<ClassTime> classes(Schedule s, DeviceModel device, Map<Integer, Double> measured,
                                   double executorSeconds) {
        double gap = device.cpuCosts() != null ? device.cpuCosts().gapSeconds() : 0;
        double setUp = device.cpuCosts() != null ? device.cpuCosts().iterationSeconds() : 0;
        Map<String, double[]> rows = new LinkedHashMap<>();
        for (Step st : s.steps()) {
            Node n = st.node() >= 0 ? s.graph().nodes().get(st.node()) : null;
            OpCostClass c = OpCostClass.of(n);
            String name = c == OpCostClass.OPTIMIZER ? c.label() : c.label() + " " + n.op().type()
                    + (st.phase() == Phase.FORWARD
                    ? " fwd" : " bwd");
            double[] row = rows.computeIfAbsent(name, k -> new double[3]);
            double m = measured.getOrDefault(st.index(), 0.0);
            row[0]++;
            row[1] += device.stepSeconds(s, st) - gap - (st.index() == 0 ? setUp : 0);
            row[2] += m;
        }
        List<ClassTime> out = new ArrayList<>();
        for (Map.Entry<String, double[]> e : rows.entrySet())
            out.add(new ClassTime(e.getKey(), (int) e.getValue()[0], e.getValue()[1], e.getValue()[2]));
        out.add(new ClassTime(EXECUTOR, s.steps().size(), gap * s.steps().size() + setUp, executorSeconds));
        out.sort(Comparator.comparingDouble((ClassTime t) -> -Math.abs(t.predictedSeconds() - t.measuredSeconds())));
        return out;
    }
}

package memplan.calibration;

import memplan.backend.cpu.CpuBackend;
import memplan.exec.Executor;
import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Predicted against measured iteration time of one model on the CPU backend: the baseline plan simulated on a
 * device model, and real iterations of the same plan through the executor (the first ones warm the JIT up and
 * are not counted; the measured time is the lower quartile of the rest, as the probes take theirs).
 *
 * @param ratio predicted / measured
 */
public record PredictionCheck(String model, int batch, double predictedSeconds, double measuredSeconds,
                              double ratio, int measuredIterations) {

    /** How many iterations a check runs: warm-up ones, then enough to take a quartile from. */
    public static int iterationsFor(double predictedSeconds) {
        // short iterations are noisy: more of them, within about a second of measuring
        return predictedSeconds < 0.02 ? 30 : predictedSeconds < 0.2 ? 10 : 5;
    }

    public static PredictionCheck run(Schedule s, DeviceModel device, ProgressListener progress,
                                      BooleanSupplier cancelled) {
        Plan plan = Plan.baseline(s);
        double predicted = Simulator.simulate(plan, device).iterationSeconds();
        int iterations = iterationsFor(predicted);
        int warmup = Math.max(1, iterations / 5);
        RunResult r;
        try (CpuBackend b = new CpuBackend(Math.max(device.capacityBytes(), 8L << 30))) {
            r = new Executor(plan, device).run(b, new RunConfig(warmup + iterations,
                    s.optimizer() == Optimizer.ADAM ? 1e-3 : 1e-2, 42), progress, cancelled);
        }
        List<Double> secs = new ArrayList<>();
        for (IterationResult it : r.iterations()) if (it.iteration() > warmup) secs.add(it.seconds());
        if (secs.isEmpty()) throw new CalibrationException("the check of " + s.graph().model().name()
                + " was cancelled");
        double measured = CpuProbes.quantile(secs, CpuProbes.TIME_QUANTILE);
        return new PredictionCheck(s.graph().model().name(), s.graph().batch(), predicted, measured,
                predicted / measured, secs.size());
    }
}

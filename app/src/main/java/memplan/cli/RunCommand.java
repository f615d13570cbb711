package memplan.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.backend.Availability;
import memplan.backend.Backend;
import memplan.backend.BackendProvider;
import memplan.backend.Backends;
import memplan.exec.Executor;
import memplan.exec.IterationResult;
import memplan.exec.RunConfig;
import memplan.exec.RunResult;
import memplan.io.AtomicFileWriter;
import memplan.ops.Opaque;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.sim.StepTimes;
import memplan.train.Optimizer;
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

/** Real training iterations under a plan, measured against the prediction. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run training iterations of a model under a plan on a backend; print loss, measured and "
                + "predicted peak and time, and a checksum of the final weights.")
public final class RunCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    PlanChoice planChoice;

    @Option(names = "--backend",
            description = "cpu or cuda (default: ${DEFAULT-VALUE}). Without a GPU, cuda falls back to cpu with the "
                    + "reason.", defaultValue = "cpu")
    String backend;

    @Option(names = "--iterations", description = "Training iterations (default: ${DEFAULT-VALUE}).",
            defaultValue = "3")
    int iterations;

    @Option(names = "--device-memory",
            description = "Capacity of the device (default: 2GiB on cpu, the GPU's memory on cuda).")
    String deviceMemory;

    @Option(names = "--lr", description = "Learning rate (default: 0.001 with adam, 0.01 with sgd).")
    Double learningRate;

    @Option(names = "--seed", description = "Seed of data, weights and dropout (default: ${DEFAULT-VALUE}).",
            defaultValue = "42")
    long seed;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Option(names = "--save-step-times", paramLabel = "FILE",
            description = "Write the last iteration's measured time per step to FILE, for `--step-times` of "
                    + "plan/simulate.")
    Path stepTimesOut;

    /** Each iteration keeps a result row; a run is for measuring, not for training to convergence. */
    static final int MAX_ITERATIONS = 1_000_000;

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private List<Path> inputs() {
        List<Path> in = new ArrayList<>(model.inputFiles());
        in.addAll(planChoice.inputFiles());
        return in;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (iterations <= 0 || iterations > MAX_ITERATIONS)
            throw new CliException("--iterations must be 1.." + MAX_ITERATIONS + ", got " + iterations);
        if (stepTimesOut != null) AtomicFileWriter.refuseInputs(stepTimesOut, inputs());
        Schedule s = model.schedule();
        Executor.checkRunnable(s.graph());
        BackendProvider provider = Backends.named(backend);
        Availability a = provider.availability();
        if (!a.available()) {
            err.println("note: backend " + provider.name() + " not available: " + a.reason() + "; running on cpu");
            provider = Backends.named("cpu");
        }
        List<String> opaque = opaqueOps(s);
        if (!opaque.isEmpty())
            err.println("note: " + opaque.size() + " opaque op(s) " + opaque
                    + " are placeholders that copy their first input: "
                    + "the loss and the weights computed mean nothing; memory and time are measured as planned");
        long capacity = deviceMemory != null ? ByteSize.parse(deviceMemory) : provider.name().equals("cpu")
                ? 2L << 30 : Long.MAX_VALUE;
        DeviceModel device = planChoice.device(provider.name().equals("cpu") ? "cpu" : "h100");
        Plan plan = planChoice.plan(s, device);
        ProgressBar bar = new ProgressBar(err, out, !json);
        RunResult r;
        try (Backend b = provider.open(capacity)) {
            if (!json) out.printf(Locale.ROOT, "%s  batch %d  plan %s  on %s%n", s.graph().model().name(),
                    s.graph().batch(), plan.planner(), b.deviceDescription());
            r = new Executor(plan, device).run(b, new RunConfig(iterations, learningRate != null ? learningRate
                    : s.optimizer() == Optimizer.ADAM ? 1e-3 : 1e-2, seed), bar, () -> false);
        } finally {
            bar.done();
        }
        if (stepTimesOut != null && r.measuredTimeline() != null) {
            StepTimes.write(stepTimesOut, s.graph().model().name(), s.graph().batch(), r.device(),
                    StepTimes.fromTimeline(r.measuredTimeline()), inputs());
            if (!json) out.println("wrote step times to " + stepTimesOut);
        }
        if (json) {
            ObjectNode o = Json.object();
            o.put("model", s.graph().model().name());
            o.put("batch", s.graph().batch());
            o.put("plan", plan.planner());
            o.put("backend", r.backend());
            o.put("device", r.device());
            o.put("lossy", r.lossy());
            if (!opaque.isEmpty()) o.put("opaqueOps", opaque.size());
            o.put("arenaBytes", r.arenaBytes());
            o.put("predictedPeakBytes", r.predicted().peakBytes());
            o.put("measuredPeakBytes", r.measuredPeakBytes());
            o.put("predictedSeconds", r.predicted().iterationSeconds());
            var its = o.putArray("iterations");
            for (IterationResult it : r.iterations()) {
                ObjectNode n = its.addObject();
                n.put("iteration", it.iteration());
                n.put("loss", it.loss());
                n.put("measuredPeakBytes", it.measuredPeakBytes());
                n.put("predictedPeakBytes", it.predictedPeakBytes());
                n.put("seconds", it.seconds());
                n.put("deviceMemoryUsed", it.deviceMemoryUsed());
            }
            o.put("weightsSha256", r.weightsSha256());
            out.println(Json.write(o));
            return 0;
        }
        out.printf(Locale.ROOT, "arena %s (plan: predicted peak %s, overhead %+.1f%%)%s%n",
                ByteSize.format(r.arenaBytes()),
                ByteSize.format(r.predicted().peakBytes()), 100 * r.predicted().overhead(), r.lossy()
                        ? "  [lossy plan]" : "");
        out.println("weights sha256 " + r.weightsSha256() + (opaque.isEmpty() ? ""
                : "  [opaque ops: values meaningless]"));
        return 0;
    }

    /** Layers whose op is an Opaque placeholder (an unsupported ONNX operator kept with --opaque), with its source. */
    static List<String> opaqueOps(Schedule s) {
        List<String> r = new ArrayList<>();
        for (var n : s.graph().nodes())
            if (n.op() instanceof Opaque o) r.add(n.name() + " (" + o.source() + ")");
        return r;
    }
}

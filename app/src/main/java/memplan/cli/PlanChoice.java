package memplan.cli;

import memplan.parallel.Layout;
import memplan.parallel.ParallelProfile;
import memplan.parallel.RankPlans;
import memplan.plan.Plan;
import memplan.plan.PlanJson;
import memplan.planner.Budget;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.planner.SolverLimits;
import memplan.sim.DeviceModel;
import memplan.sim.Simulator;
import memplan.sim.StepTimes;
import memplan.train.Schedule;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** How a command gets its plan (a plan file, or a planner with a budget) and which device model predicts it. */
public final class PlanChoice {
    @Option(names = "--planner", description = "Planner to make the plan with (default: baseline): baseline, share, "
            + "vdnn-all, vdnn-conv, swap, checkpoint-sqrt, recompute-greedy, recompute-optimal, hybrid-greedy, "
            + "hybrid-optimal, compress, compress-fp16; join with + to compose.")
    String planner;

    @Option(names = "--time-limit", paramLabel = "TIME", defaultValue = "30s",
            description = "Longest search of a solver-based planner (recompute-optimal, hybrid-optimal): 30s, 2m, 0.5s "
                    + "(default: ${DEFAULT-VALUE}).")
    String timeLimit;

    @Option(names = "--gap", paramLabel = "SHARE", defaultValue = "1%",
            description = "A solver-based planner stops once its plan is proven within this share of the best "
                    + "(default: ${DEFAULT-VALUE}).")
    String gap;

    @Option(names = "--budget",
            description = "Memory budget for the planner: bytes, with units (6GiB, 512MiB) or a share of the "
                    + "baseline peak (50%%).")
    String budget;

    @Option(names = "--plan", paramLabel = "FILE",
            description = "Use a plan file written by `memplan plan --out` instead of a planner.")
    Path planFile;

    @Option(names = "--device", description = "Device model of the prediction: h100, h200, a100, v100, cpu.")
    String device;

    @Option(names = "--link", description = "Host link of the device model: pcie3, pcie4, pcie5, nvlink-c2c.")
    String link;

    @Option(names = "--step-times", paramLabel = "FILE",
            description = "Predict from measured step times (written by `memplan run --save-step-times FILE`) "
                    + "instead of the roofline.")
    Path stepTimes;

    /** The files this choice reads (plan, step times), which no output of the command may overwrite. */
    public List<Path> inputFiles() {
        List<Path> in = new ArrayList<>();
        if (planFile != null) in.add(planFile);
        if (stepTimes != null) in.add(stepTimes);
        return in;
    }

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    /** The device model by --device (else {@code dflt}); cpu is calibrated on this machine. */
    public DeviceModel device(String dflt) {
        DeviceModel d = CpuDeviceChoice.named(device != null ? device : dflt, mixee != null
                ? mixee.commandLine().getErr() : new PrintWriter(System.err, true));
        if (link != null) d = d.withLink(link);
        return stepTimes != null ? d.withMeasured(StepTimes.read(stepTimes)) : d;
    }

    public Planner planner() {
        return Planners.named(planner == null ? "baseline" : planner, limits());
    }

    /** The solver limits from --time-limit and --gap. */
    public SolverLimits limits() {
        return SolverLimits.DEFAULT.withTimeLimit(seconds(timeLimit)).withGapTarget(share(gap));
    }

    static double seconds(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        double unit = 1;
        if (t.endsWith("ms")) {
            unit = 1e-3;
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("s")) t = t.substring(0, t.length() - 1);
        else if (t.endsWith("m")) {
            unit = 60;
            t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t.trim()) * unit;
            if (v > 0 && v <= 86_400) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new CliException("--time-limit must be a positive time such as 30s, 2m or 500ms, got '" + text + "'");
    }

    static double share(String text) {
        String t = text == null ? "" : text.trim();
        boolean pct = t.endsWith("%");
        try {
            double v = Double.parseDouble(pct ? t.substring(0, t.length() - 1).trim() : t) / (pct ? 100 : 1);
            if (v >= 0 && v < 1) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new CliException("--gap must be a share in [0%, 100%) such as 1% or 0.01, got '" + text + "'");
    }

    /** The budget in bytes ({@link Planner#MIN_PEAK} when none is given); shares refer to the baseline peak. */
    public long budgetBytes(Schedule s, DeviceModel d) {
        if (budget == null) return Planner.MIN_PEAK;
        Budget b = Budget.parse(budget);
        return b.resolve(b.relative() ? Simulator.simulate(Plan.baseline(s), d).peakBytes() : 0);
    }

    /**
     * Per-rank plans of a layout: the planner inside every distinct rank against the budget per device (a share
     * refers to the highest rank's unplanned peak), or a plan file applied to every rank.
     */
    public RankPlans rankPlans(Schedule s, Layout l, DeviceModel d) {
        if (planFile != null) return RankPlans.apply(s, l, plan(s, d), d);
        return RankPlans.plan(s, l, planner(), rankBudget(s, l), d);
    }

    /** The budget per device of a layout ({@link Planner#MIN_PEAK} when none is given). */
    public long rankBudget(Schedule s, Layout l) {
        if (budget == null || planFile != null) return Planner.MIN_PEAK;
        Budget b = Budget.parse(budget);
        return b.resolve(b.relative() ? ParallelProfile.of(s, l).highest().peakBytes() : 0);
    }

    public Plan plan(Schedule s, DeviceModel d) {
        if (planFile != null) {
            if (planner != null || budget != null)
                throw new CliException("--plan cannot be combined with --planner or --budget");
            if (!Files.isRegularFile(planFile)) throw new CliException("plan file '" + planFile + "' does not exist");
            return PlanJson.read(planFile, s);
        }
        return planner().plan(s, budgetBytes(s, d), d);
    }
}

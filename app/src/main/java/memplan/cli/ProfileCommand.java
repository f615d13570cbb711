package memplan.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.TensorRole;
import memplan.profile.MemoryProfile;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.units.ByteSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Baseline memory profile of one training iteration. */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = "Baseline memory profile of one training iteration: peak, breakdown by role, largest tensors, "
                + "lower bound.")
public final class ProfileCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    FrameworkArgs framework = new FrameworkArgs();

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        long t0 = System.nanoTime();
        Schedule s = model.schedule(framework.profile());
        MemoryProfile p = MemoryProfile.of(s);
        double ms = (System.nanoTime() - t0) / 1e6;
        PrintWriter out = spec.commandLine().getOut();
        Step peak = s.step(p.peakStep());
        if (json) {
            ObjectNode o = Json.object();
            o.put("model", s.graph().model().name());
            o.put("batch", s.graph().batch());
            o.put("dtype", s.graph().floatType().jsonName());
            o.put("optimizer", s.optimizer().name().toLowerCase(Locale.ROOT));
            o.put("parameters", p.parameters());
            o.put("trainableParameters", s.trainableParameters());
            o.put("microBatches", s.microBatches());
            o.put("optimizerStates", s.setup().optimizerStates().name().toLowerCase(Locale.ROOT));
            o.put("baseWeights", s.setup().baseWeights().cliName);
            o.put("amp", s.setup().amp().cliName);
            o.put("steps", s.stepCount());
            o.put("tensors", s.tensorCount());
            o.put("peakBytes", p.peakBytes());
            o.put("peakStep", p.peakStep());
            o.put("peakStepLabel", peak.label());
            o.put("peakPhase", peak.phase().name().toLowerCase(Locale.ROOT));
            o.put("framework", s.framework().name());
            o.put("optimizerForm", s.framework().optimizerForm().cliName);
            o.put("zeroGrad", s.framework().zeroGrad().cliName);
            ObjectNode ph = o.putObject("phasePeakBytes");
            for (Phase f : Phase.values()) ph.put(f.name().toLowerCase(Locale.ROOT), p.phasePeak(f));
            o.put("savedBytes", p.savedBytes());
            ObjectNode br = o.putObject("peakByRole");
            for (TensorRole r : TensorRole.values()) br.put(r.name().toLowerCase(Locale.ROOT), p.peakByRole().get(r));
            var top = o.putArray("largestAtPeak");
            for (TensorInfo t : p.largestAtPeak()) {
                ObjectNode n = top.addObject();
                n.put("name", t.name());
                n.put("role", t.role().name().toLowerCase(Locale.ROOT));
                n.put("shape", t.shape().toString());
                n.put("bytes", t.bytes());
            }
            o.put("lowerBoundBytes", p.lowerBound());
            o.put("lowerBoundStep", s.step(p.lowerBoundStep()).label());
            o.put("profileMillis", Math.round(ms * 10) / 10.0);
            out.println(Json.write(o));
            return 0;
        }
        out.printf(Locale.ROOT, "%s  batch %d  %s  %s%n", s.graph().model().name(), s.graph().batch(),
                s.graph().floatType().jsonName(), s.optimizer().name().toLowerCase(Locale.ROOT));
        out.printf(Locale.ROOT, "parameters      %,d%n", p.parameters());
        if (s.trainableParameters() != p.parameters() || !s.setup().describe().isEmpty())
            out.printf(Locale.ROOT, "training        %,d trainable%s%n", s.trainableParameters(),
                    s.setup().describe().isEmpty() ? "" : "; " + s.setup().describe());
        out.printf(Locale.ROOT, "steps           %d (%d tensors)%n", s.stepCount(), s.tensorCount());
        out.printf(Locale.ROOT, "peak            %s at step %d (%s, %s)%n",
                ByteSize.format(p.peakBytes()), p.peakStep(),
                peak.label(), peak.phase().name().toLowerCase(Locale.ROOT));
        out.printf(Locale.ROOT, "framework       %s (optimizer %s, zero_grad %s)%n", s.framework().name(),
                s.framework().optimizerForm().cliName, s.framework().zeroGrad().cliName);
        out.printf(Locale.ROOT, "phase peaks     forward %s, backward %s, optimizer %s%n",
                ByteSize.format(p.phasePeak(Phase.FORWARD)), ByteSize.format(p.phasePeak(Phase.BACKWARD)),
                ByteSize.format(p.phasePeak(Phase.OPTIMIZER)));
        out.printf(Locale.ROOT, "saved for backward %s%n", ByteSize.format(p.savedBytes()));
        out.println("at the peak:");
        for (TensorRole r : TensorRole.values())
            out.printf(Locale.ROOT, "  %-16s %12s  %5.1f%%%n", r.label(), ByteSize.format(p.peakByRole().get(r)),
                    p.peakBytes() == 0 ? 0 : 100.0 * p.peakByRole().get(r) / p.peakBytes());
        out.println("largest tensors live at the peak:");
        for (TensorInfo t : p.largestAtPeak())
            out.printf(Locale.ROOT, "  %12s  %-16s %-20s %s%n", ByteSize.format(t.bytes()),
                    t.role().label(), t.shape(), t.name());
        out.printf(Locale.ROOT, "lower bound     %s (step %s must hold all it reads and writes at once)%n",
                ByteSize.format(p.lowerBound()), s.step(p.lowerBoundStep()).label());
        out.printf(Locale.ROOT, "profiled in %.1f ms%n", ms);
        return 0;
    }
}

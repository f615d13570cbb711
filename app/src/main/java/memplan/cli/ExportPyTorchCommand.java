package memplan.cli;

import memplan.export.NotExpressed;
import memplan.export.PyTorchExport;
import memplan.export.PyTorchExporter;
import memplan.io.AtomicFileWriter;
import memplan.parallel.Layout;
import memplan.plan.Plan;
import memplan.plan.PlanJson;
import memplan.train.Schedule;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** Writes a plan file as a Python module that installs the plan on the user's PyTorch model. */
@Command(name = "pytorch", mixinStandardHelpOptions = true,
        description = "Write a plan as a Python module (needs only PyTorch) whose apply(model) installs it on your "
                + "nn.Module: recompute, swap and compression of saved tensors (docs/pytorch-export.md); with a layout "
                + "also wrap(model, ...): DDP, ZeroRedundancyOptimizer or FSDP as the layout says.")
public final class ExportPyTorchCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    FrameworkArgs framework = new FrameworkArgs();

    @Option(names = "--plan", paramLabel = "FILE", required = true,
            description = "The plan file (written by `memplan plan --out`) made for MODEL.")
    Path planFile;

    @Option(names = "--out", paramLabel = "FILE.py", required = true, description = "Where to write the module.")
    Path out;

    @Option(names = "--expressed-plan", paramLabel = "FILE",
            description = "Also write the plan as PyTorch carries it out (decisions it cannot express kept), for "
                    + "`memplan simulate --plan` to predict.")
    Path expressedOut;

    @Mixin
    ParallelArgs parallel = new ParallelArgs();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        List<Path> inputs = new ArrayList<>(model.inputFiles());
        inputs.add(planFile);
        AtomicFileWriter.refuseInputs(out, inputs);
        if (expressedOut != null) {
            AtomicFileWriter.refuseInputs(expressedOut, inputs);
            if (expressedOut.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize()))
                throw new CliException("--expressed-plan and --out name the same file '" + out + "'");
        }
        if (!Files.isRegularFile(planFile)) throw new CliException("plan file '" + planFile + "' does not exist");
        // with a layout --batch is the global batch and the plan one rank's (`memplan plan` with the same flags)
        Layout layout = parallel.given() ? parallel.layout() : null;
        Schedule s = layout == null ? model.schedule(framework.profile())
                : SimulateCommand.rankSchedule(model, framework, layout);
        Plan plan = PlanJson.read(planFile, s);
        PyTorchExport ex = PyTorchExporter.export(plan, layout);
        AtomicFileWriter.writeString(out, ex.source(), inputs);
        if (expressedOut != null) PlanJson.write(ex.expressed(), expressedOut, inputs);
        PrintWriter err = spec.commandLine().getErr();
        for (String w : ex.warnings()) err.println("warning: " + w);
        PrintWriter o = spec.commandLine().getOut();
        o.printf("%d decision(s) on module calls, %d checkpoint region(s), %d not expressed%n",
                ex.decisions().size(), ex.regions().size(), ex.notExpressed().size());
        for (NotExpressed n : ex.notExpressed())
            o.println("  not expressed: " + n.kind() + " '" + n.tensor() + "': " + n.reason());
        if (layout != null) o.println("wrap(model, optimizer_class, ...) wraps it for " + layout.describe());
        o.println("wrote " + out);
        if (expressedOut != null) o.println("wrote " + expressedOut);
        return 0;
    }
}

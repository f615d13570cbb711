package memplan.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** `memplan export`: writes a plan in another tool's terms; its formats are subcommands. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a plan for another framework: `memplan export pytorch MODEL --plan plan.json --out "
                + "memplan_plan.py`.", subcommands = {ExportPyTorchCommand.class})
public final class ExportCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}

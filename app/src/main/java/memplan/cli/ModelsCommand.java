package memplan.cli;

import memplan.samples.SampleModels;
import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.util.concurrent.Callable;

/** Lists the bundled sample models. */
@Command(name = "models", mixinStandardHelpOptions = true, description = "List the bundled sample models.")
public final class ModelsCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        for (String n : SampleModels.names()) spec.commandLine().getOut().println(n);
        return 0;
    }
}

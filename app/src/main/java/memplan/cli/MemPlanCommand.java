package memplan.cli;

import memplan.backend.BackendException;
import memplan.calibration.CalibrationException;
import memplan.io.FileWriteException;
import memplan.ir.ModelException;
import memplan.ir.ShapeException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import memplan.units.ByteSize;

/** The top-level `memplan` command; each subcommand is its own class. */
@Command(name = "memplan", mixinStandardHelpOptions = true, version = "MemPlan " + MemPlanCommand.VERSION,
        description = "Profile and plan GPU memory of deep-learning training: swap, recompute, share, compress.",
        subcommands = {ProfileCommand.class, PlanCommand.class, SimulateCommand.class, MaxBatchCommand.class,
                BenchCommand.class, RunCommand.class, ModelsCommand.class, ImportCommand.class, ExportCommand.class,
                FitCommand.class, CalibrateCommand.class,
                        CommandLine.HelpCommand.class})
public final class MemPlanCommand implements Runnable {
    /** MemPlan's version; a cpu calibration is redone when it changes. */
    public static final String VERSION = "0.1.0";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Builds the command line with MemPlan's error handling: user errors print one line, never a stack trace. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new MemPlanCommand());
        // A bad option value or an unknown option: one line, not picocli's default of the message plus the usage text.
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            cmd.getErr().println("error: " + ex.getMessage() + " (see '" + cmd.getCommandSpec()
                    .qualifiedName() + " --help')");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            PrintWriter err = cmd.getErr();
            if (isUserError(ex)) {
                err.println("error: " + FlagHints.withHint(ex));
                return 2;
            }
            err.println("internal error: " + ex);
            for (StackTraceElement e : ex.getStackTrace()) err.println("    at " + e);
            return 1;
        });
        return cl;
    }

    static boolean isUserError(Throwable ex) {
        return ex instanceof ModelException || ex instanceof ShapeException || ex instanceof IllegalArgumentException
                || ex instanceof BackendException || ex instanceof CliException || ex instanceof FileWriteException
                || ex instanceof CalibrationException;
    }

    public static int run(String... args) {
        CommandLine cl = commandLine();
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // A last resort: inputs are bounded so that this should not happen; if it does, still one line.
            cl.getErr().println("error: out of memory (Java heap of "
                    + ByteSize.format(Runtime.getRuntime().maxMemory())
                    + "); try a smaller model or batch, or give Java more memory with -Xmx");
            cl.getErr().flush();
            return 2;
        } catch (StackOverflowError ex) {
            // picocli passes errors through; a stack overflow's trace is a thousand identical lines: name it once.
            StackTraceElement[] st = ex.getStackTrace();
            String where = st.length > 0 ? " in " + st[0] : "";
            cl.getErr().println("internal error: " + ex.getClass().getSimpleName() + where
                    + "; the model may be too large for this JVM's limits (-Xss)");
            cl.getErr().flush();
            return 1;
        }
    }
}

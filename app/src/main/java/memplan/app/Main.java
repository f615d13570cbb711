package memplan.app;

import memplan.cli.MemPlanCommand;

/**
 * Entry point of memplan.jar: with arguments it runs the command-line tool, without them it opens the desktop app.
 * (A JavaFX app started from the class path needs a main class that does not extend Application.)
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        if (args.length == 0) {
            DesktopLauncher.launch(args);
            return;
        }
        System.exit(MemPlanCommand.run(args));
    }
}

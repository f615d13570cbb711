package memplan.app;

import memplan.app.ui.MemPlanApp;

import java.util.logging.Level;
import java.util.logging.Logger;

/** Opens the desktop app, or says in one line why it cannot (no display) and exits with status 1. */
final class DesktopLauncher {
    /**
     * JavaFX warns at every start that it was loaded from the class path ("Unsupported JavaFX configuration"); the
     * jar is built that way on purpose (one file, no module path), so that one warning of its logger is dropped. Held
     * here so the logger (and its level) is not garbage collected.
     */
    private static final Logger JAVAFX_LOG = Logger.getLogger("javafx");

    private DesktopLauncher() {
    }

    static void launch(String[] args) {
        String why = MemPlanApp.noDisplayReason();
        if (why != null) fail(why);
        JAVAFX_LOG.setLevel(Level.SEVERE);
        try {
            MemPlanApp.launchApp(args);
        } catch (RuntimeException | Error e) {
            Throwable t = e;
            while (t.getCause() != null) t = t.getCause();
            fail(t.getMessage() == null ? t.toString() : t.getMessage());
        }
    }

    private static void fail(String why) {
        System.err.println("error: cannot open the MemPlan window: " + why
                + " (run a command instead, e.g. `memplan profile resnet18`; see `memplan --help`)");
        System.exit(1);
    }
}

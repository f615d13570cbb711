package memplan.app;

/** Opens the desktop app when its classes are present and a display can be used. */
final class DesktopLauncher {
    private static final String APP_CLASS = "memplan.app.ui.MemPlanApp";

    private DesktopLauncher() {
    }

    static boolean isAvailable() {
        try {
            Class.forName(APP_CLASS, false, DesktopLauncher.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    static void launch(String[] args) {
        try {
            Class.forName(APP_CLASS).getMethod("launchApp", String[].class).invoke(null, (Object) args);
        } catch (ReflectiveOperationException e) {
            System.err.println("error: cannot open the desktop app: " + e);
            System.exit(1);
        }
    }
}

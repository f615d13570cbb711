package memplan.app.ui;

import memplan.app.ui.session.SessionViewModel;

/** Builds the main window for a session (one place, so the app and the tests build the same thing). */
public final class Views {
    private Views() {
    }

    public static MainWindow mainWindow(SessionViewModel session) {
        return new MainWindow(session);
    }
}

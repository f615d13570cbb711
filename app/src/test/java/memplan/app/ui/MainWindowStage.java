package memplan.app.ui;

import javafx.scene.Scene;
import javafx.stage.Stage;
import memplan.app.ui.session.SessionViewModel;

/** The main window on a test's stage, styled as the app shows it; for the headless UI tests. */
final class MainWindowStage {
    private MainWindowStage() {
    }

    static MainWindow show(Stage stage, SessionViewModel session, double width, double height) {
        MainWindow main = Views.mainWindow(session);
        Scene scene = new Scene(main, width, height);
        scene.getStylesheets().add(MemPlanApp.class.getResource("memplan.css").toExternalForm());
        stage.setScene(scene);
        stage.show();
        return main;
    }
}

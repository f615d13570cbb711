package memplan.app.ui.run;

import javafx.geometry.Insets;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.ListView;
import javafx.scene.layout.VBox;
import memplan.app.ui.session.SessionViewModel;

/** Runs the plan on a backend: which backends are here and, for those that are not, why. */
public class RunPanel extends VBox {
    protected final SessionViewModel session;
    protected final ListView<BackendChoice> backends = new ListView<>();

    public RunPanel(SessionViewModel session) {
        super(8);
        this.session = session;
        setId("runPanel");
        setPadding(new Insets(10));
        Label t = new Label("Backend");
        t.getStyleClass().add("section-title");
        backends.setId("backendList");
        backends.getItems().setAll(BackendChoice.discover());
        backends.setPrefHeight(90);
        backends.setCellFactory(v -> new ListCell<>() {
            @Override
            protected void updateItem(BackendChoice c, boolean empty) {
                super.updateItem(c, empty);
                if (empty || c == null) {
                    setText(null);
                    setDisable(false);
                    return;
                }
                setText(c.name() + (c.available() ? "  \u2014 " + c.reason() : "  \u2014 not available: " + c.reason()));
                setWrapText(true);
                setPrefWidth(0);
                setDisable(!c.available());
                getStyleClass().removeAll("unavailable");
                if (!c.available()) getStyleClass().add("unavailable");
            }
        });
        for (BackendChoice c : backends.getItems())
            if (c.available()) {
                backends.getSelectionModel().select(c);
                break;
            }
        getChildren().addAll(t, backends);
    }
}

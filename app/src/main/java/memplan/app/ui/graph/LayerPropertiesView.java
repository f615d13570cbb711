package memplan.app.ui.graph;

import javafx.geometry.Insets;
import javafx.scene.control.Label;
import javafx.scene.control.OverrunStyle;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.ColumnConstraints;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.SessionViewModel;

import java.util.List;

/** The selected layer's properties: full name, op, shapes, bytes, saved tensors and each tensor's technique. */
final class LayerPropertiesView extends VBox {
    private final SessionViewModel session;
    private LayerProperties shown;

    LayerPropertiesView(SessionViewModel session) {
        super(4);
        this.session = session;
        setId("layerProperties");
        getStyleClass().add("layer-properties");
        setPadding(new Insets(6, 8, 8, 8));
    }

    LayerProperties shown() {
        return shown;
    }

    void show(int node) {
        getChildren().clear();
        shown = null;
        if (session.analysis() == null || node < 0) return;
        LayerProperties p = LayerProperties.of(session.analysis(), session.evaluation(), node);
        shown = p;
        Label name = new Label(p.name());
        name.setId("propName");
        name.getStyleClass().add("section-title");
        name.setWrapText(true);
        Label op = new Label(p.op() + " \u2014 holds " + Fmt.bytes(p.bytesAtPeak()) + " at the peak");
        op.setId("propOp");
        GridPane grid = new GridPane();
        grid.setHgap(8);
        grid.setVgap(2);
        int r = 0;
        r = rows(grid, r, "Inputs", p.inputs());
        r = rows(grid, r, "Outputs", p.outputs());
        if (!p.params().isEmpty()) r = rows(grid, r, "Parameters", p.params());
        Label tensorsHead = new Label("Tensors (" + p.tensors().size() + ", " + p.saved().size()
                + " saved for backward)");
        tensorsHead.getStyleClass().add("prop-head");
        GridPane ts = new GridPane();
        ts.setId("propTensors");
        ts.setHgap(10);
        ts.setVgap(1);
        ColumnConstraints nameCol = new ColumnConstraints();
        nameCol.setHgrow(Priority.SOMETIMES);
        nameCol.setMinWidth(60);
        ts.getColumnConstraints().add(nameCol);
        for (int c = 0; c < 4; c++) {
            ColumnConstraints cc = new ColumnConstraints();
            cc.setMinWidth(Region.USE_PREF_SIZE);
            ts.getColumnConstraints().add(cc);
        }
        int k = 0;
        for (LayerProperties.TensorLine t : p.tensors()) {
            Label n = small(t.name());
            n.setTextOverrun(OverrunStyle.LEADING_ELLIPSIS); // the end tells tensors apart
            n.setTooltip(new Tooltip(t.name() + " " + t.shape()));
            Label tech = small(t.technique());
            tech.getStyleClass().add(t.technique().equals("keep") ? "prop-keep" : "prop-technique");
            ts.addRow(k++, n, small(t.role()), small(Fmt.bytes(t.bytes())), small(t.saved() ? "saved" : ""), tech);
        }
        getChildren().addAll(name, op, grid, tensorsHead, ts);
    }

    private static int rows(GridPane g, int r, String head, List<String> lines) {
        Label h = new Label(head);
        h.getStyleClass().add("prop-head");
        h.setMinWidth(Region.USE_PREF_SIZE);
        g.add(h, 0, r);
        if (lines.isEmpty()) g.add(small("none"), 1, r++);
        for (String l : lines) {
            Label v = small(l);
            v.setWrapText(true);
            g.add(v, 1, r++);
        }
        return r;
    }

    private static Label small(String s) {
        Label l = new Label(s);
        l.setMnemonicParsing(false);
        l.getStyleClass().add("prop-value");
        return l;
    }
}

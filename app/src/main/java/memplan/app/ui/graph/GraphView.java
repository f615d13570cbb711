package memplan.app.ui.graph;

import javafx.geometry.Insets;
import javafx.geometry.Orientation;
import javafx.geometry.Pos;
import javafx.geometry.VPos;
import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.Button;
import javafx.scene.control.ContextMenu;
import javafx.scene.control.Control;
import javafx.scene.control.Label;
import javafx.scene.control.MenuItem;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.SplitPane;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.input.MouseButton;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Pane;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.paint.Color;
import javafx.scene.text.Font;
import javafx.scene.text.FontWeight;
import javafx.scene.text.TextAlignment;
import javafx.util.Duration;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.PlanEdits;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.Technique;
import memplan.graph.Node;
import org.controlsfx.control.textfield.TextFields;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** The layer graph drawn on a canvas: zoom (wheel, +/-), pan (drag), fit, search; click selects a layer. */
public final class GraphView extends BorderPane {
    private final SessionViewModel session;
    private final GraphViewModel vm = new GraphViewModel();
    private final Canvas canvas = new Canvas();
    private final Pane holder = new Pane(canvas);
    private final Label info = new Label();
    private double dragX, dragY;
    private boolean dragged;
    private boolean needsFit = true;
    private Set<Integer> highlightedNodes = Set.of();
    private int[] decisionMarks = new int[0]; // per node: 0 none, else a technique code to draw a badge
    private final LayerPropertiesView properties;
    private final ScrollPane propertiesPane;
    private final SplitPane split;
    private final Tooltip nodeTip = new Tooltip();
    private int hoverNode = -1;
    /** Node names drawn in the last redraw (level of detail: only those legible and not in each other's way). */
    private final Set<Integer> labelled = new HashSet<>();

    public GraphView(SessionViewModel session) {
        this.session = session;
        getStyleClass().add("graph-view");
        setId("graphView");
        canvas.setId("graphCanvas");
        canvas.widthProperty().bind(holder.widthProperty());
        canvas.heightProperty().bind(holder.heightProperty());
        holder.setMinSize(100, 100);
        holder.getStyleClass().add("canvas-holder");
        canvas.widthProperty().addListener(o -> redraw());
        canvas.heightProperty().addListener(o -> {
            if (needsFit) fitInitial();
            redraw();
        });

        // ControlsFX clearable field: a small x at the right end empties it.
        TextField search = TextFields.createClearableTextField();
        search.setId("graphSearch");
        search.setPromptText("Find layer by name");
        search.textProperty().bindBidirectional(vm.searchProperty());
        search.textProperty().addListener(o -> vm.resetSearch());
        search.setOnAction(e -> findNext());
        HBox.setHgrow(search, Priority.ALWAYS);
        search.setPrefColumnCount(10);
        Button find = new Button("Find");
        find.setOnAction(e -> findNext());
        Button fit = new Button("Fit");
        fit.setId("graphFit");
        fit.setTooltip(new Tooltip("Show the whole network"));
        fit.setOnAction(e -> {
            vm.fit(graphLayout(), canvas.getWidth(), canvas.getHeight());
            redraw();
        });
        Button plus = new Button("+");
        plus.setOnAction(e -> zoom(1.25));
        Button minus = new Button("\u2212");
        minus.setOnAction(e -> zoom(0.8));
        Label title = new Label("Layer graph");
        title.getStyleClass().add("panel-title");
        for (Control c : new Control[]{title, find, minus, plus, fit})
            c.setMinWidth(Region.USE_PREF_SIZE);
        HBox bar = new HBox(6, title, search, find, minus, plus, fit);
        bar.setAlignment(Pos.CENTER_LEFT);
        bar.setPadding(new Insets(4, 6, 4, 6));
        info.getStyleClass().add("hint");
        info.setPadding(new Insets(2, 6, 4, 6));
        info.setText("Colour: bytes a layer holds at the peak. Drag to pan, wheel to zoom, click to select.");
        info.setWrapText(true);
        properties = new LayerPropertiesView(session);
        propertiesPane = new ScrollPane(properties);
        propertiesPane.setFitToWidth(true);
        propertiesPane.setId("layerPropertiesPane");
        split = new SplitPane(holder);
        split.setOrientation(Orientation.VERTICAL);
        setTop(bar);
        setCenter(split);
        setBottom(info);
        nodeTip.setWrapText(true);
        nodeTip.setMaxWidth(520);
        nodeTip.setShowDelay(Duration.millis(250));
        canvas.setOnMouseMoved(e -> hover(e.getX(), e.getY()));
        canvas.setOnMouseExited(e -> hover(-1, -1));

        canvas.setOnScroll(e -> {
            vm.zoomAt(e.getDeltaY() > 0 ? 1.15 : 1 / 1.15, e.getX(), e.getY());
            redraw();
        });
        canvas.setOnMousePressed(e -> {
            dragX = e.getX();
            dragY = e.getY();
            dragged = false;
        });
        canvas.setOnMouseDragged(e -> {
            vm.pan(e.getX() - dragX, e.getY() - dragY);
            dragged |= Math.abs(e.getX() - dragX) + Math.abs(e.getY() - dragY) > 2;
            dragX = e.getX();
            dragY = e.getY();
            redraw();
        });
        canvas.setOnMouseClicked(e -> {
            if (e.getButton() == MouseButton.SECONDARY && graphLayout() != null && !dragged) {
                int n = graphLayout().nodeAt(vm.toWorldX(e.getX()), vm.toWorldY(e.getY()));
                if (n < 0) return;
                session.selectedTensorProperty().set(-1);
                session.selectedNodeProperty().set(n);
                nodeMenu(n).show(canvas, e.getScreenX(), e.getScreenY());
                return;
            }
            if (e.getButton() != MouseButton.PRIMARY) return;
            if (dragged || graphLayout() == null) return;
            int n = graphLayout().nodeAt(vm.toWorldX(e.getX()), vm.toWorldY(e.getY()));
            session.selectedTensorProperty().set(-1);
            session.selectedNodeProperty().set(n);
        });
        session.analysisProperty().addListener((o, a, n) -> {
            needsFit = true;
            fitInitial();
            redraw();
        });
        session.evaluationProperty().addListener(o -> {
            updateMarks();
            if (properties.shown() != null) showProperties(session.selectedNodeProperty().get());
            updateInfo();
            redraw();
        });
        session.highlightedProperty().addListener((o, a, n) -> {
            Analysis an = session.analysis();
            Set<Integer> s = new HashSet<>();
            if (an != null) for (int t : n) if (an.nodeOf(t) >= 0) s.add(an.nodeOf(t));
            highlightedNodes = s;
            // a tensor picked in the table or on the timeline: bring its layer into view
            int t = session.selectedTensorProperty().get();
            if (an != null && t >= 0 && session.selectedNodeProperty().get() < 0 && an.nodeOf(t) >= 0)
                reveal(an.nodeOf(t));
            redraw();
        });
        session.selectedNodeProperty().addListener((o, a, n) -> {
            int node = n.intValue();
            if (node >= 0) reveal(node);
            updateInfo();
            showProperties(node);
            redraw();
        });
    }

    public GraphViewModel viewModel() { return vm; }

    /** Shows the whole network (the Fit button). */
    public void fitAll() {
        vm.fit(graphLayout(), canvas.getWidth(), canvas.getHeight());
        needsFit = false;
        redraw();
    }

    /** The properties shown for the selected layer, or null. */
    public LayerProperties shownProperties() { return properties.shown(); }

    /** The tooltip's text for the layer under the mouse ("" when none). */
    public String tooltipText() { return hoverNode < 0 ? "" : nodeTip.getText(); }

    /** Whether the last drawing wrote this layer's name (level of detail). */
    public boolean isLabelled(int node) { return labelled.contains(node); }

    /** Whether a layer's box is inside the visible part of the canvas. */
    public boolean isInView(int node) {
        GraphLayout l = graphLayout();
        if (l == null) return false;
        double vx = vm.toViewX(l.x(node)), vy = vm.toViewY(l.y(node));
        return vx >= 0 && vy >= 0 && vx <= canvas.getWidth() && vy <= canvas.getHeight();
    }

    /** Centres a layer when it is out of view (zooming in so its name can be read). */
    private void reveal(int node) {
        if (graphLayout() == null || isInView(node) && vm.scaleProperty().get() >= 0.5) return;
        vm.centerOn(graphLayout(), node, canvas.getWidth(), canvas.getHeight());
    }

    private void showProperties(int node) {
        properties.show(node);
        boolean on = properties.shown() != null;
        if (on && !split.getItems().contains(propertiesPane)) {
            split.getItems().add(propertiesPane);
            split.setDividerPositions(0.6);
        } else if (!on) split.getItems().remove(propertiesPane);
    }

    private void hover(double x, double y) {
        GraphLayout l = graphLayout();
        int n = l == null || x < 0 ? -1 : l.nodeAt(vm.toWorldX(x), vm.toWorldY(y));
        if (n == hoverNode) return;
        hoverNode = n;
        if (n < 0) {
            Tooltip.uninstall(canvas, nodeTip);
            nodeTip.hide();
            return;
        }
        Analysis a = session.analysis();
        Node node = a.graph().nodes().get(n);
        Evaluation ev = session.evaluation();
        long bytes = ev == null || n >= ev.nodeBytesAtPeak().length ? 0 : ev.nodeBytesAtPeak()[n];
        StringBuilder b = new StringBuilder(node.name()).append('\n').append(node.op().type()).append("  out ")
                .append(node.outShapes().isEmpty() ? "" : node.outShapes().get(0).toString())
                .append("\nholds ").append(Fmt.bytes(bytes)).append(" at the peak");
        if (ev != null && ev.plan() != null) {
            Map<String, Integer> techs = new TreeMap<>();
            for (int t : a.tensorsOf(n)) {
                String tl = PlanEdits.techniqueOf(ev.plan().decision(t)).label;
                if (!tl.equals("keep")) techs.merge(tl, 1, Integer::sum);
            }
            techs.forEach((k, v) -> b.append("\n").append(k).append(": ").append(v)
                    .append(v == 1 ? " tensor" : " tensors"));
        }
        nodeTip.setText(b.toString());
        Tooltip.install(canvas, nodeTip);
    }

    /** Techniques for the layer's output tensor, straight from the graph. */
    public ContextMenu nodeMenu(int node) {
        Analysis a = session.analysis();
        Node n = a.graph().nodes().get(node);
        int t = n.outputs().length == 0 ? -1 : a.schedule().tensorOfValue(n.outputs()[0]);
        ContextMenu menu = new ContextMenu();
        if (t < 0 || session.plan() == null) return menu;
        MenuItem head = new MenuItem("Output " + a.schedule().tensor(t).name()
                + " (" + Fmt.bytes(a.schedule().tensor(t).bytes()) + "):");
        head.setDisable(true);
        head.setMnemonicParsing(false); // names like h.0.mlp.c_fc keep their underscores
        menu.getItems().add(head);
        for (Technique tech : Technique.values()) {
            MenuItem item = new MenuItem(tech.label);
            item.setMnemonicParsing(false);
            item.setOnAction(ev -> session.setTechnique(t, tech));
            menu.getItems().add(item);
        }
        return menu;
    }
    public Canvas canvas() { return canvas; }

    /** Per-layer badges for the techniques a plan applies (set by the plan-aware session). */
    public void setDecisionMarks(int[] marks) {
        decisionMarks = marks == null ? new int[0] : marks;
        redraw();
    }

    private void updateMarks() {
        Analysis a = session.analysis();
        var ev = session.evaluation();
        if (a == null || ev == null || ev.plan() == null) {
            decisionMarks = new int[0];
            return;
        }
        int[] marks = new int[a.graph().nodes().size()];
        for (int t = 0; t < ev.plan().size(); t++) {
            int code = PlanEdits.badge(ev.plan().decision(t));
            int n = a.nodeOf(t);
            if (code != 0 && n >= 0 && marks[n] == 0) marks[n] = code;
        }
        decisionMarks = marks;
    }

    private GraphLayout graphLayout() {
        Analysis a = session.analysis();
        return a == null ? null : a.layout();
    }

    private void fitInitial() {
        if (graphLayout() == null || canvas.getWidth() <= 0 || canvas.getHeight() <= 0) return;
        vm.fitWidthTop(graphLayout(), canvas.getWidth(), canvas.getHeight());
        needsFit = false;
    }

    private void zoom(double f) {
        vm.zoomAt(f, canvas.getWidth() / 2, canvas.getHeight() / 2);
        redraw();
    }

    private void findNext() {
        int n = vm.findNext(session.analysis());
        if (n < 0) {
            info.setText("No layer named like '" + vm.searchProperty().get() + "'");
            return;
        }
        vm.centerOn(graphLayout(), n, canvas.getWidth(), canvas.getHeight());
        session.selectedTensorProperty().set(-1);
        session.selectedNodeProperty().set(n);
        redraw();
    }

    private void updateInfo() {
        Analysis a = session.analysis();
        int n = session.selectedNodeProperty().get();
        Evaluation ev = session.evaluation();
        if (a == null || n < 0) {
            info.setText("Colour: bytes a layer holds at the peak. Drag to pan, wheel to zoom, click to select.");
            return;
        }
        Node node = a.graph().nodes().get(n);
        long bytes = ev == null || n >= ev.nodeBytesAtPeak().length ? 0 : ev.nodeBytesAtPeak()[n];
        info.setText(node.name() + " (" + node.op().type() + ")  out " + node.outShapes().get(0) + "  holds "
                + Fmt.bytes(bytes) + " at the peak, " + a.tensorsOf(n).length + " tensors");
    }

    /** Draws the visible part of the graph. */
    public void redraw() {
        GraphicsContext g = canvas.getGraphicsContext2D();
        double w = canvas.getWidth(), h = canvas.getHeight();
        g.setFill(Color.web("#fbfcfe"));
        g.fillRect(0, 0, w, h);
        Analysis a = session.analysis();
        if (a == null) {
            g.setFill(Color.web("#6b7280"));
            g.setFont(Font.font(14));
            g.setTextAlign(TextAlignment.CENTER);
            g.fillText("Open a model to see its layers", w / 2, h / 2);
            g.setTextAlign(TextAlignment.LEFT);
            return;
        }
        GraphLayout l = a.layout();
        Evaluation ev = session.evaluation();
        double s = vm.scaleProperty().get();
        double ox = vm.offsetXProperty().get(), oy = vm.offsetYProperty().get();
        double wx0 = vm.toWorldX(0), wx1 = vm.toWorldX(w), wy0 = vm.toWorldY(0), wy1 = vm.toWorldY(h);
        // Edges
        g.setStroke(Color.web("#9aa5b1"));
        g.setLineWidth(Math.max(0.6, 1.2 * Math.min(1, s * 1.5)));
        for (int e = 0; e < l.edgeCount(); e++) {
            double[] p = l.edgePath(e);
            double ymin = Math.min(p[1], p[p.length - 1]), ymax = Math.max(p[1], p[p.length - 1]);
            if (ymax < wy0 || ymin > wy1) continue;
            g.beginPath();
            g.moveTo(p[0] * s + ox, p[1] * s + oy);
            for (int k = 2; k < p.length; k += 2) g.lineTo(p[k] * s + ox, p[k + 1] * s + oy);
            g.stroke();
            // arrow head
            double ex = p[p.length - 2] * s + ox, ey = p[p.length - 1] * s + oy;
            double a6 = Math.max(2, 5 * s);
            g.strokeLine(ex, ey, ex - a6 * 0.7, ey - a6);
            g.strokeLine(ex, ey, ex + a6 * 0.7, ey - a6);
        }
        // Nodes
        long max = ev == null ? 0 : Math.max(1, ev.maxNodeBytes());
        int sel = session.selectedNodeProperty().get();
        labelled.clear();
        List<double[]> taken = new ArrayList<>(); // label boxes placed outside nodes
        List<double[]> boxes = new ArrayList<>(); // small boxes a label beside a node must not hide
        if (GraphLayout.NODE_H * s < 15)
            for (int i = 0; i < l.nodeCount(); i++) {
                double bx = (l.x(i) - GraphLayout.NODE_W / 2) * s + ox, by = (l.y(i) - GraphLayout.NODE_H / 2) * s + oy;
                if (bx + GraphLayout.NODE_W * s >= 0 && bx <= w && by + GraphLayout.NODE_H * s >= 0 && by <= h)
                    boxes.add(new double[]{bx, by, GraphLayout.NODE_W * s, GraphLayout.NODE_H * s});
            }
        for (int i = 0; i < l.nodeCount(); i++) {
            double cx = l.x(i), cy = l.y(i);
            if (cx + GraphLayout.NODE_W / 2 < wx0 || cx - GraphLayout.NODE_W / 2 > wx1
                    || cy + GraphLayout.NODE_H / 2 < wy0 || cy - GraphLayout.NODE_H / 2 > wy1) continue;
            double x = (cx - GraphLayout.NODE_W / 2) * s + ox, y = (cy - GraphLayout.NODE_H / 2) * s + oy;
            double bw = GraphLayout.NODE_W * s, bh = GraphLayout.NODE_H * s;
            long bytes = ev == null || i >= ev.nodeBytesAtPeak().length ? 0 : ev.nodeBytesAtPeak()[i];
            double[] c = GraphViewModel.heat(Math.sqrt((double) bytes / max));
            g.setFill(Color.color(c[0], c[1], c[2]));
            double arc = 8 * s;
            g.fillRoundRect(x, y, bw, bh, arc, arc);
            boolean hl = highlightedNodes.contains(i);
            g.setStroke(i == sel ? Color.web("#1d4ed8") : hl ? Color.web("#2563eb") : Color.web("#64748b"));
            g.setLineWidth(i == sel ? 3 : hl ? 2 : 1);
            g.strokeRoundRect(x, y, bw, bh, arc, arc);
            if (i < decisionMarks.length && decisionMarks[i] != 0) drawBadge(g, decisionMarks[i], x + bw, y, s);
            Node node = a.graph().nodes().get(i);
            // Level of detail: text is drawn at a size that can be read (never under 10 px); inside the box when it
            // fits, else beside it where no other label is, so a zoomed-out graph still names some of its layers.
            if (bh >= 15) {
                double nameSize = Math.min(14, Math.max(10.5, 12 * s));
                boolean twoLines = bh >= 2 * nameSize + 6;
                int chars = (int) ((bw - 8) / (nameSize * 0.62));
                g.setFill(Color.web("#111827"));
                g.setTextAlign(TextAlignment.CENTER);
                g.setTextBaseline(VPos.CENTER);
                g.setFont(Font.font("System", FontWeight.BOLD, nameSize));
                g.fillText(elide(node.name(), chars), x + bw / 2, twoLines ? y + bh * 0.32 : y + bh / 2);
                if (twoLines) {
                    double ts = Math.max(9.5, nameSize - 1.5);
                    g.setFont(Font.font("System", ts));
                    g.setFill(Color.web("#374151"));
                    String type = node.op().type() + (bytes > 0 ? "  " + Fmt.bytes(bytes) : "");
                    g.fillText(elide(type, (int) ((bw - 8) / (ts * 0.58))), x + bw / 2, y + bh * 0.72);
                }
                g.setTextBaseline(VPos.BASELINE);
                g.setTextAlign(TextAlignment.LEFT);
                labelled.add(i);
            } else {
                String label = elide(node.name(), 28);
                double lw = label.length() * 6.4 + 6, lh = 14;
                double lx = x + bw + 4, ly = y + bh / 2 - lh / 2;
                boolean free = lx + lw <= w;
                for (double[] r : taken)
                    if (free && lx < r[0] + r[2] && r[0] < lx + lw && ly < r[1] + r[3] && r[1] < ly + lh) free = false;
                for (double[] r : boxes)
                    if (free && lx < r[0] + r[2] && r[0] < lx + lw && ly < r[1] + r[3] && r[1] < ly + lh) free = false;
                if (free) {
                    taken.add(new double[]{lx, ly, lw, lh});
                    g.setFill(Color.color(1, 1, 1, 0.85));
                    g.fillRect(lx, ly, lw, lh);
                    g.setFill(i == sel ? Color.web("#1d4ed8") : Color.web("#111827"));
                    g.setFont(Font.font("System", 11));
                    g.fillText(label, lx + 3, ly + 11);
                    labelled.add(i);
                }
            }
        }
        // Legend, on a white box so it never hides under nodes
        g.setFont(Font.font(11));
        double lx = 10, ly = h - 14;
        g.setFill(Color.color(1, 1, 1, 0.92));
        g.fillRect(lx - 6, ly - 12, 260, 22);
        g.setFill(Color.web("#374151"));
        g.fillText("holds at peak:", lx, ly + 4);
        for (int k = 0; k <= 4; k++) {
            double[] c = GraphViewModel.heat(k / 4.0);
            g.setFill(Color.color(c[0], c[1], c[2]));
            g.fillRect(lx + 82 + k * 16, ly - 6, 16, 12);
        }
        g.setStroke(Color.web("#64748b"));
        g.setLineWidth(1);
        g.strokeRect(lx + 82, ly - 6, 80, 12);
        g.setFill(Color.web("#374151"));
        g.fillText("0", lx + 170, ly + 4);
        g.fillText(ev == null ? "" : Fmt.bytes(ev.maxNodeBytes()), lx + 182, ly + 4);
        boolean anyBadge = false;
        for (int m : decisionMarks) anyBadge |= m != 0;
        if (anyBadge) { // what the badges mean, above the colour legend
            String[] names = {"", "swap", "recompute", "share", "compress"};
            double bx = lx;
            g.setFill(Color.color(1, 1, 1, 0.92));
            g.fillRect(lx - 6, ly - 34, 330, 20);
            for (int k = 1; k < names.length; k++) {
                g.setFill(BADGE_COLOR[k]);
                g.fillOval(bx, ly - 30, 11, 11);
                g.setFill(Color.web("#374151"));
                g.setFont(Font.font(11));
                g.fillText(BADGE[k] + " " + names[k], bx + 14, ly - 20);
                bx += 24 + (names[k].length() + 2) * 6.3;
            }
        }
    }

    /** Badge colours and letters per technique code (1 swap, 2 recompute, 3 share, 4 compress). */
    static final String[] BADGE = {"", "S", "R", "=", "C"};
    static final Color[] BADGE_COLOR = {Color.TRANSPARENT, Color.web("#7c3aed"), Color.web("#0891b2"),
            Color.web("#16a34a"), Color.web("#db2777")};

    private static void drawBadge(GraphicsContext g, int code, double rx, double ty, double s) {
        double r = Math.max(5, 9 * s);
        g.setFill(BADGE_COLOR[code]);
        g.fillOval(rx - r * 1.2, ty - r * 0.8, 2 * r, 2 * r);
        if (r >= 7) {
            g.setFill(Color.WHITE);
            g.setFont(Font.font("System", FontWeight.BOLD, r * 1.2));
            g.setTextAlign(TextAlignment.CENTER);
            g.fillText(BADGE[code], rx - r * 0.2, ty + r * 0.6);
            g.setTextAlign(TextAlignment.LEFT);
        }
    }

    /** Keeps the end of a long name, which tells layers apart ("\u2026attention.self.query"). */
    static String elide(String s, int n) {
        if (n < 2) return "";
        return s.length() <= n ? s : "\u2026" + s.substring(s.length() - (n - 1));
    }
}

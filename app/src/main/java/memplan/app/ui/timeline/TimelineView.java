package memplan.app.ui.timeline;

import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.geometry.VPos;
import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Pane;
import javafx.scene.layout.Region;
import javafx.scene.paint.Color;
import javafx.scene.text.Font;
import javafx.scene.text.FontWeight;
import javafx.scene.text.TextAlignment;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.SessionViewModel;
import memplan.ir.TensorRole;
import memplan.train.TensorInfo;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;

/**
 * The memory timeline of one iteration on a canvas: device bytes stacked by role, host bytes in a strip of their own,
 * the peak and the budget, event markers; hover lists the live tensors, click selects the largest tensor of the band
 * under the mouse, and highlighted tensors show their lifetimes.
 */
public final class TimelineView extends BorderPane {
    public static final Color[] ROLE_COLORS = {
            Color.web("#94a3b8"), // input
            Color.web("#60a5fa"), // weights
            Color.web("#f59e0b"), // activations
            Color.web("#34d399"), // gradients
            Color.web("#a78bfa"), // optimizer state
            Color.web("#f472b6"), // workspace
    };
    static final Color[] MARKER_COLORS = {
            Color.web("#7c3aed"), Color.web("#2563eb"), Color.web("#0891b2"), Color.web("#db2777"),
                    Color.web("#be185d"), Color.web("#dc2626")};

    private final SessionViewModel session;
    private final Canvas canvas = new Canvas();
    private final Pane holder = new Pane(canvas);
    private final Label summary = new Label();
    private int hoverSample = -1;
    private double hoverX, hoverY;
    private Runnable afterRedraw;

    // plot geometry of the last draw
    private double px0, px1, py0, py1, hostY0, hostY1;
    private double xMin, xMax;
    private long yMax;
    private AxisTicks ticks;
    private long ghostPeak = -1;
    private double zoomFrom = 0, zoomTo = 1;
    private final Button resetZoom = new Button("Whole iteration");
    private double brushFrom = -1, brushTo = -1;
    private boolean brushed;
    private double fullMin, fullMax;
    private List<String> breakdownRows = List.of();

    public TimelineView(SessionViewModel session) {
        this.session = session;
        setId("timelineView");
        canvas.setId("timelineCanvas");
        canvas.widthProperty().bind(holder.widthProperty());
        canvas.heightProperty().bind(holder.heightProperty());
        holder.setMinSize(200, 160);
        canvas.widthProperty().addListener(o -> redraw());
        canvas.heightProperty().addListener(o -> redraw());
        Label title = new Label("Memory timeline (one iteration)");
        title.getStyleClass().add("panel-title");
        summary.setId("timelineSummary");
        title.setMinWidth(Region.USE_PREF_SIZE);
        summary.setTooltip(new Tooltip("Predicted by the simulator for the device model chosen in "
                + "the Plan tab"));
        summary.getStyleClass().add("summary");
        resetZoom.setId("timelineWhole");
        resetZoom.setTooltip(new Tooltip("Wheel or drag across the chart to zoom in on a time range"));
        resetZoom.setOnAction(e -> zoom(0, 1));
        resetZoom.setVisible(false);
        resetZoom.setManaged(false);
        resetZoom.setMinWidth(Region.USE_PREF_SIZE);
        HBox bar = new HBox(12, title, resetZoom, summary);
        bar.setAlignment(Pos.CENTER_LEFT);
        bar.setPadding(new Insets(4, 6, 4, 6));
        setTop(bar);
        setCenter(holder);
        session.evaluationProperty().addListener(o -> redraw());
        session.highlightedProperty().addListener(o -> redraw());
        session.budgetBytesProperty().addListener(o -> redraw());
        session.deviceProperty().addListener(o -> redraw());
        canvas.setOnMouseMoved(e -> {
            hoverX = e.getX();
            hoverY = e.getY();
            TimelineData d = data();
            hoverSample = d == null || e.getX() < px0 || e.getX() > px1 ? -1 : d.sampleAt(toDataX(e.getX()));
            redraw();
        });
        canvas.setOnMouseExited(e -> {
            hoverSample = -1;
            redraw();
        });
        // zoom and brush on the time axis: wheel zooms around the mouse, a drag selects a range, a double click
        // shows the whole iteration again
        canvas.setOnScroll(e -> {
            if (data() == null || e.getX() < px0 || e.getX() > px1 || e.getDeltaY() == 0) return;
            double f = (e.getX() - px0) / (px1 - px0), at = zoomFrom + f * (zoomTo - zoomFrom);
            double span = (zoomTo - zoomFrom) * (e.getDeltaY() > 0 ? 0.8 : 1.25);
            zoom(at - f * span, at - f * span + span);
        });
        canvas.setOnMousePressed(e -> {
            brushFrom = e.getX() >= px0 && e.getX() <= px1 ? e.getX() : -1;
            brushTo = -1;
        });
        canvas.setOnMouseDragged(e -> {
            if (brushFrom < 0) return;
            brushTo = Math.max(px0, Math.min(px1, e.getX()));
            redraw();
        });
        canvas.setOnMouseReleased(e -> {
            if (brushFrom >= 0 && brushTo >= 0 && Math.abs(brushTo - brushFrom) > 5) {
                double a = Math.min(brushFrom, brushTo), b = Math.max(brushFrom, brushTo);
                double fa = (a - px0) / (px1 - px0), fb = (b - px0) / (px1 - px0);
                brushed = true;
                zoom(zoomFrom + fa * (zoomTo - zoomFrom), zoomFrom + fb * (zoomTo - zoomFrom));
            }
            brushFrom = brushTo = -1;
        });
        session.analysisProperty().addListener(o -> zoom(0, 1));
        canvas.setOnMouseClicked(e -> {
            TimelineData d = data();
            if (d == null) return;
            if (brushed) {
                brushed = false;
                return;
            }
            if (e.getClickCount() == 2) {
                zoom(0, 1);
                return;
            }
            int sample = d.sampleAt(toDataX(e.getX()));
            if (sample < 0) return;
            int t = tensorAt(d, sample, e.getY());
            session.selectedNodeProperty().set(-1);
            session.selectedTensorProperty().set(t);
        });
    }

    public Canvas canvas() { return canvas; }

    /** Shows the part of the iteration from fraction {@code from} to {@code to} of its time (0..1 is all of it). */
    public void zoom(double from, double to) {
        double span = Math.max(0.002, Math.min(1, to - from));
        double a = Math.max(0, Math.min(1 - span, from));
        zoomFrom = a;
        zoomTo = a + span;
        boolean zoomed = span < 1;
        resetZoom.setVisible(zoomed);
        resetZoom.setManaged(zoomed);
        redraw();
    }

    /** The time range drawn, in the timeline's x units (ms or steps). */
    public double[] visibleRange() { return new double[]{xMin, xMax}; }

    /** The top of the byte axis in the last drawing (it holds while the user edits the plan). */
    public long axisTopBytes() { return yMax; }

    /** The byte axis' tick labels in the last drawing. */
    public List<String> tickLabels() {
        List<String> out = new ArrayList<>();
        if (ticks != null) for (int k = 0; k <= ticks.count(); k++) out.add(ticks.label(k));
        return out;
    }

    /** The roles and bytes listed beside the peak in the last drawing, e.g. "activations 1.88 MiB". */
    public List<String> peakBreakdown() { return breakdownRows; }

    /** A dashed line across the plot at height y, labelled just above it at the left or right end. */
    private void dashedLevel(GraphicsContext g, double y, Color line, Color text, double width, double dash,
                             double gap, String label, TextAlignment align) {
        g.setStroke(line);
        g.setLineWidth(width);
        g.setLineDashes(dash, gap);
        g.strokeLine(px0, y, px1, y);
        g.setLineDashes();
        g.setFill(text);
        g.setFont(Font.font("System", FontWeight.BOLD, 11));
        g.setTextAlign(align);
        g.fillText(label, align == TextAlignment.LEFT ? px0 + 6 : px1 - 4, y - 4);
    }

    /**
     * The baseline's peak as a dashed line (once the plan differs from it) and the plan shown before the last change as
     * a grey outline with its peak, so the change is visible, not just its new level.
     */
    private void ghostAndBaseline(GraphicsContext g, Evaluation ev, Evaluation prev, Evaluation base) {
        if (base != null && base.peakBytes() != ev.peakBytes()) {
            dashedLevel(g, toViewY(base.peakBytes()), Color.web("#475569"), Color.web("#334155"), 1.2, 6, 4,
                    "baseline peak " + Fmt.bytes(base.peakBytes()), TextAlignment.LEFT);
        }
        ghostPeak = -1;
        if (prev == null || prev.timeline() == null || prev.peakBytes() == ev.peakBytes()) return;
        TimelineData pd = prev.timeline();
        double pxMax = pd.x()[pd.x().length - 1], pxMin = pd.x()[0];
        if (pxMax <= pxMin) return;
        // the previous plan's total, on its own time scale stretched to this one (times differ by the overhead)
        g.setStroke(Color.color(0.1, 0.1, 0.1, 0.55));
        g.setLineWidth(1.3);
        g.setLineDashes(3, 3);
        g.beginPath();
        for (int i = 0; i < pd.points(); i++) {
            double xa = toViewX(fullMin + (pd.x()[i] - pxMin) / (pxMax - pxMin) * (fullMax - fullMin));
            double xb = toViewX(fullMin + (pd.x()[i + 1] - pxMin) / (pxMax - pxMin) * (fullMax - fullMin));
            double y = toViewY(pd.total(i));
            if (i == 0) g.moveTo(xa, y);
            else g.lineTo(xa, y);
            g.lineTo(xb, y);
        }
        g.stroke();
        g.setLineDashes();
        if (pd.peakIndex() >= 0) {
            double mid = (pd.x()[pd.peakIndex()] + pd.x()[pd.peakIndex() + 1]) / 2;
            double x = toViewX(fullMin + (mid - pxMin) / (pxMax - pxMin)
                    * (fullMax - fullMin));
            double y = toViewY(prev.peakBytes());
            g.setStroke(Color.web("#111827"));
            g.setLineWidth(1.5);
            g.strokeOval(x - 4, y - 4, 8, 8);
            g.setFill(Color.web("#374151"));
            g.setFont(Font.font(11));
            boolean right = x < (px0 + px1) / 2;
            g.setTextAlign(right ? TextAlignment.LEFT : TextAlignment.RIGHT);
            g.fillText("before " + Fmt.bytes(prev.peakBytes()), x + (right ? 8 : -8), y - 6);
            g.setTextAlign(TextAlignment.LEFT);
            ghostPeak = prev.peakBytes();
        }
    }

    /** The previous peak drawn as a ghost in the last drawing, or -1. */
    public long ghostPeakBytes() { return ghostPeak; }

    /** What the peak is made of, role by role, in a small table on the side of the plot away from the peak. */
    private void breakdown(GraphicsContext g, TimelineData d, boolean peakOnLeft) {
        List<String[]> rows = new ArrayList<>();
        List<Color> colors = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        for (TensorRole r : TensorRole.values()) {
            long b = d.role(r, d.peakIndex());
            if (b <= 0) continue;
            rows.add(new String[]{r.label(), Fmt.bytes(b)});
            colors.add(ROLE_COLORS[r.ordinal()]);
            lines.add(r.label() + " " + Fmt.bytes(b));
        }
        breakdownRows = List.copyOf(lines);
        if (rows.isEmpty() || py1 - py0 < 40 + rows.size() * 14) return;
        double bw = 178, bh = 20 + rows.size() * 14;
        double bx = peakOnLeft ? px1 - bw - 8 : px0 + 8, by = py0 + 22;
        g.setFill(Color.color(1, 1, 1, 0.9));
        g.fillRect(bx, by, bw, bh);
        g.setStroke(Color.web("#d1d5db"));
        g.setLineWidth(1);
        g.strokeRect(bx, by, bw, bh);
        g.setFont(Font.font("System", FontWeight.BOLD, 11));
        g.setFill(Color.web("#111827"));
        g.setTextAlign(TextAlignment.LEFT);
        g.fillText("at the peak", bx + 8, by + 14);
        g.setFont(Font.font(11));
        for (int i = 0; i < rows.size(); i++) {
            double y = by + 28 + i * 14;
            g.setFill(colors.get(i));
            g.fillRect(bx + 8, y - 8, 9, 9);
            g.setFill(Color.web("#111827"));
            g.setTextAlign(TextAlignment.LEFT);
            g.fillText(rows.get(i)[0], bx + 22, y);
            g.setTextAlign(TextAlignment.RIGHT);
            g.fillText(rows.get(i)[1], bx + bw - 8, y);
        }
        g.setTextAlign(TextAlignment.LEFT);
    }

    /** Runs once after the next redraw (used to time click-to-redraw). */
    public void afterNextRedraw(Runnable r) {
        afterRedraw = r;
    }

    private TimelineData data() {
        Evaluation e = session.evaluation();
        return e == null ? null : e.timeline();
    }

    private double toDataX(double vx) {
        return xMin + (vx - px0) / (px1 - px0) * (xMax - xMin);
    }

    private double toViewX(double dx) {
        return px0 + (dx - xMin) / (xMax - xMin) * (px1 - px0);
    }

    private double toViewY(long bytes) {
        return py1 - (double) bytes / yMax * (py1 - py0);
    }

    /** The largest tensor live at the sample in the role band under view y (or the largest of all). */
    int tensorAt(TimelineData d, int sample, double vy) {
        long cum = 0;
        TensorRole band = null;
        for (TensorRole r : TensorRole.values()) {
            long b = d.role(r, sample);
            if (b > 0 && vy <= toViewY(cum) && vy >= toViewY(cum + b)) band = r;
            cum += b;
        }
        Analysis a = session.analysis();
        int[] live = d.lifetimes().liveAt(sample);
        for (int t : live) if (band == null || a.schedule().tensor(t).role() == band) return t;
        return live.length > 0 ? live[0] : -1;
    }

    public void redraw() {
        GraphicsContext g = canvas.getGraphicsContext2D();
        double w = canvas.getWidth(), h = canvas.getHeight();
        g.setFill(Color.WHITE);
        g.fillRect(0, 0, w, h);
        TimelineData d = data();
        Evaluation ev = session.evaluation();
        if (d == null || d.points() == 0) {
            g.setFill(Color.web("#6b7280"));
            g.setFont(Font.font(14));
            g.setTextAlign(TextAlignment.CENTER);
            g.fillText("Open a model to see its memory over one iteration", w / 2, h / 2);
            g.setTextAlign(TextAlignment.LEFT);
            summary.setText("");
            runAfter();
            return;
        }
        Analysis a = session.analysis();
        long budget = session.budgetBytesProperty().get();
        summary.setText("peak " + Fmt.bytes(ev.peakBytes())
                + (Double.isNaN(ev.iterationSeconds()) ? "" : "   time " + Fmt.seconds(ev.iterationSeconds())
                + " on " + session.deviceProperty().get().name()
                + (session.deviceProperty().get().measuredStepSeconds().isEmpty() ? "" : " (measured step times)"))
                + (ev.overheadFraction() != 0 ? "   overhead " + Fmt.percent(ev.overheadFraction()) : "")
                + (budget > 0 ? "   budget " + Fmt.bytes(budget) : ""));
        long maxHost = d.maxHost();
        int[] hl = session.highlightedProperty().get();
        int lifeRows = Math.min(hl.length, 6);
        px0 = 78;
        px1 = w - 16;
        py0 = 34;
        double markerY = 16;
        double bottom = h - 28 - (maxHost > 0 ? 46 : 0) - lifeRows * 7;
        py1 = Math.max(py0 + 40, bottom);
        hostY0 = py1 + 30;
        hostY1 = hostY0 + 36;
        fullMin = d.x()[0];
        fullMax = d.x()[d.x().length - 1];
        if (fullMax <= fullMin) fullMax = fullMin + 1;
        xMin = fullMin + zoomFrom * (fullMax - fullMin);
        xMax = fullMin + zoomTo * (fullMax - fullMin);
        // The scale holds the baseline's peak while the user edits, so a lower peak is drawn lower (not rescaled).
        Evaluation base = session.baselineEvaluationProperty().get();
        Evaluation prev = session.previousEvaluationProperty().get();
        if (base != null && base.timeline() != null && base.timeline().points() != d.points()
                && base.plan() == null) base = null;
        long top = Math.max(ev.peakBytes(), budget);
        if (base != null) top = Math.max(top, base.peakBytes());
        if (prev != null) top = Math.max(top, prev.peakBytes());
        for (int i = 0; i < d.points(); i++) top = Math.max(top, d.total(i));
        ticks = AxisTicks.bytes((long) (top * 1.06), 5);
        yMax = Math.max(1, (long) ticks.top());

        // grid and y axis
        g.setFont(Font.font(11));
        g.setStroke(Color.web("#e5e7eb"));
        g.setLineWidth(1);
        g.setFill(Color.web("#4b5563"));
        g.setTextAlign(TextAlignment.RIGHT);
        g.setTextBaseline(VPos.CENTER);
        for (int k = 0; k <= ticks.count(); k++) {
            double y = toViewY((long) ticks.value(k));
            g.strokeLine(px0, y, px1, y);
            g.fillText(ticks.label(k), px0 - 6, y);
        }
        g.setTextBaseline(VPos.BASELINE);

        // everything drawn against time stays inside the plot when zoomed in
        g.save();
        g.beginPath();
        g.rect(px0, 0, px1 - px0, h);
        g.clip();

        // stacked areas
        int n = d.points();
        long[] cum = new long[n];
        for (TensorRole r : TensorRole.values()) {
            long[] v = d.byRole()[r.ordinal()];
            boolean any = false;
            for (long b : v) any |= b > 0;
            if (!any) continue;
            double[] xs = new double[4 * n], ys = new double[4 * n];
            for (int i = 0; i < n; i++) {
                double xa = toViewX(d.x()[i]), xb = toViewX(d.x()[i + 1]);
                double yTop = toViewY(cum[i] + v[i]);
                xs[2 * i] = xa;
                ys[2 * i] = yTop;
                xs[2 * i + 1] = xb;
                ys[2 * i + 1] = yTop;
                double yLow = toViewY(cum[i]);
                xs[4 * n - 1 - 2 * i] = xa;
                ys[4 * n - 1 - 2 * i] = yLow;
                xs[4 * n - 2 - 2 * i] = xb;
                ys[4 * n - 2 - 2 * i] = yLow;
            }
            g.setFill(ROLE_COLORS[r.ordinal()]);
            g.fillPolygon(xs, ys, 4 * n);
            for (int i = 0; i < n; i++) cum[i] += v[i];
        }

        ghostAndBaseline(g, ev, prev, base);

        // highlighted lifetimes: shaded on the plot, one row each under the axis
        if (hl.length > 0 && a != null) {
            g.setFill(Color.color(0.15, 0.35, 0.95, hl.length == 1 ? 0.16 : 0.08));
            for (int t : hl) {
                double[] iv = d.lifetimes().intervals(t);
                // with several tensors, those alive the whole iteration (weights, optimizer state) would shade
                // everything
                if (hl.length > 1 && iv.length == 2 && iv[1] - iv[0] >= 0.95 * (xMax - xMin)) continue;
                for (int k = 0; k + 1 < iv.length; k += 2) g.fillRect(toViewX(iv[k]), py0,
                        toViewX(iv[k + 1]) - toViewX(iv[k]), py1 - py0);
            }
            List<Integer> rows = new ArrayList<>();
            for (int t : hl) rows.add(t);
            rows.sort((p, q) -> Long.compare(a.schedule().tensor(q).bytes(), a.schedule().tensor(p).bytes()));
            for (int r = 0; r < lifeRows; r++) {
                int t = rows.get(r);
                double y = py1 + 22 + r * 7;
                g.setFill(ROLE_COLORS[a.schedule().tensor(t).role().ordinal()].darker());
                double[] iv = d.lifetimes().intervals(t);
                for (int k = 0; k + 1 < iv.length; k += 2)
                    g.fillRect(toViewX(iv[k]), y, Math.max(2, toViewX(iv[k + 1]) - toViewX(iv[k])), 5);
            }
            if (hl.length == 1) {
                TensorInfo ti = a.schedule().tensor(hl[0]);
                g.setFill(Color.web("#1e3a8a"));
                g.setFont(Font.font("System", FontWeight.BOLD, 12));
                g.setTextAlign(TextAlignment.LEFT);
                g.fillText("lifetime of " + ti.name() + " (" + Fmt.bytes(ti.bytes()) + ")", px0 + 6, py0 + 14);
            }
        }

        // budget and peak
        if (budget > 0) {
            dashedLevel(g, toViewY(budget), Color.web("#dc2626"), Color.web("#dc2626"), 1.5, 8, 5,
                    "budget " + Fmt.bytes(budget), TextAlignment.RIGHT);
        }
        if (d.peakIndex() >= 0 && d.peakIndex() < n) {
            double x = (toViewX(d.x()[d.peakIndex()]) + toViewX(d.x()[d.peakIndex() + 1])) / 2;
            double y = toViewY(d.peakBytes());
            g.setStroke(Color.web("#111827"));
            g.setLineWidth(1);
            g.setLineDashes(3, 3);
            g.strokeLine(x, py1, x, y);
            g.setLineDashes();
            g.setFill(Color.web("#111827"));
            g.fillOval(x - 4, y - 4, 8, 8);
            g.setFont(Font.font("System", FontWeight.BOLD, 12));
            boolean right = x < (px0 + px1) / 2;
            g.setTextAlign(right ? TextAlignment.LEFT : TextAlignment.RIGHT);
            g.fillText("peak " + Fmt.bytes(d.peakBytes()), x + (right ? 8 : -8), Math.max(py0 + 12, y - 6));
            breakdown(g, d, right);
        }

        // markers
        for (TimelineData.Marker m : d.markers()) {
            double x = toViewX(m.x());
            Color c = MARKER_COLORS[m.kind().ordinal()];
            g.setFill(c);
            if (m.x2() > m.x()) g.fillRect(x, markerY + 2, Math.max(2, toViewX(m.x2()) - x), 8);
            else g.fillPolygon(new double[]{x - 4, x + 4, x}, new double[]{markerY + 2, markerY + 2, markerY + 10}, 3);
        }

        if (brushFrom >= 0 && brushTo >= 0) {
            g.setFill(Color.color(0.15, 0.35, 0.95, 0.15));
            g.fillRect(Math.min(brushFrom, brushTo), py0, Math.abs(brushTo - brushFrom), py1 - py0);
        }
        g.restore();
        if (zoomTo - zoomFrom < 1) {
            g.setFill(Color.web("#1e3a8a"));
            g.setFont(Font.font(11));
            g.setTextAlign(TextAlignment.RIGHT);
            g.fillText("zoomed in \u2014 double-click or Whole iteration to see it all", px1, py1 + 26);
            g.setTextAlign(TextAlignment.LEFT);
        }

        // axes
        g.setStroke(Color.web("#6b7280"));
        g.setLineWidth(1);
        g.strokeLine(px0, py1, px1, py1);
        g.strokeLine(px0, py0, px0, py1);
        g.setFill(Color.web("#4b5563"));
        g.setFont(Font.font(11));
        g.setTextAlign(TextAlignment.CENTER);
        AxisTicks xt = AxisTicks.plain(xMax - xMin, Math.max(2, Math.min(8, (int) ((px1 - px0) / 90))), "");
        double firstTick = Math.ceil(xMin / xt.step() - 1e-9) * xt.step();
        for (int k = 0; k <= xt.count() + 1; k++) {
            double dx = firstTick + xt.value(k);
            if (dx > xMax + 1e-9) break;
            double vx = toViewX(dx);
            g.strokeLine(vx, py1, vx, py1 + 3);
            g.setTextAlign(vx > px1 - 20 ? TextAlignment.RIGHT : TextAlignment.CENTER);
            g.fillText(xt.labelOf(dx), vx, py1 + 14);
        }
        g.setTextAlign(TextAlignment.LEFT);
        g.fillText(d.xLabel().equals("ms") ? "time (ms)" : "step", 4, py1 + 14);
        g.setTextAlign(TextAlignment.LEFT);
        phaseLabels(g, d);

        // host strip
        if (maxHost > 0) {
            g.setFill(Color.web("#f3f4f6"));
            g.fillRect(px0, hostY0, px1 - px0, hostY1 - hostY0);
            g.setFill(Color.web("#7c3aed"));
            for (int i = 0; i < n; i++) {
                if (d.host()[i] == 0) continue;
                double hh = (double) d.host()[i] / maxHost * (hostY1 - hostY0);
                double xa = toViewX(d.x()[i]), xb = toViewX(d.x()[i + 1]);
                g.fillRect(xa, hostY1 - hh, Math.max(1, xb - xa), hh);
            }
            g.setFill(Color.web("#4b5563"));
            g.setTextAlign(TextAlignment.RIGHT);
            g.fillText("host", px0 - 6, hostY0 + 12);
            g.fillText(Fmt.bytes(maxHost), px0 - 6, hostY0 + 26);
            g.setTextAlign(TextAlignment.LEFT);
        }

        legend(g, d);
        if (hoverSample >= 0 && a != null) hover(g, a, d, hoverSample);
        runAfter();
    }

    private void runAfter() {
        Runnable r = afterRedraw;
        afterRedraw = null;
        if (r != null) r.run();
    }

    private void phaseLabels(GraphicsContext g, TimelineData d) {
        g.setStroke(Color.web("#9ca3af"));
        g.setLineDashes(2, 4);
        g.setFill(Color.web("#374151"));
        g.setFont(Font.font(11));
        g.setTextAlign(TextAlignment.LEFT);
        double[][] phases = {{d.backwardX(), 1}, {d.optimizerX(), 2}};
        for (double[] p : phases) {
            if (Double.isNaN(p[0]) || p[0] <= xMin) continue;
            double x = toViewX(p[0]);
            g.strokeLine(x, py0, x, py1);
            String label = p[1] == 1 ? "backward \u2192" : "optimizer \u2192";
            boolean room = x + 72 < px1;
            g.setTextAlign(room ? TextAlignment.LEFT : TextAlignment.RIGHT);
            g.fillText(room ? label : "\u2190 " + label.substring(0, label.length() - 2), room
                    ? x + 3 : x - 3, py1 - 4);
            g.setTextAlign(TextAlignment.LEFT);
        }
        g.fillText("forward \u2192", px0 + 3, py1 - 4);
        g.setLineDashes();
    }

    private void legend(GraphicsContext g, TimelineData d) {
        g.setFont(Font.font(11));
        double x = px0;
        double y = 4;
        for (TensorRole r : TensorRole.values()) {
            g.setFill(ROLE_COLORS[r.ordinal()]);
            g.fillRect(x, y, 10, 10);
            g.setFill(Color.web("#374151"));
            g.fillText(r.label(), x + 13, y + 9);
            x += 20 + r.label().length() * 6.2;
        }
        if (!d.markers().isEmpty()) {
            EnumSet<TimelineData.MarkerKind> kinds = EnumSet.noneOf(TimelineData.MarkerKind.class);
            for (TimelineData.Marker m : d.markers()) kinds.add(m.kind());
            x += 10;
            for (TimelineData.MarkerKind k : kinds) {
                g.setFill(MARKER_COLORS[k.ordinal()]);
                g.fillPolygon(new double[]{x, x + 8, x + 4}, new double[]{y + 1, y + 1, y + 9}, 3);
                g.setFill(Color.web("#374151"));
                g.fillText(k.label, x + 11, y + 9);
                x += 18 + k.label.length() * 6.2;
            }
        }
    }

    private void hover(GraphicsContext g, Analysis a, TimelineData d, int sample) {
        double x = hoverX;
        g.setStroke(Color.web("#111827"));
        g.setLineWidth(1);
        g.strokeLine(x, py0, x, py1);
        int[] live = d.lifetimes().liveAt(sample);
        String head = d.labels()[sample];
        int rows = Math.min(8, live.length);
        double bw = 330, bh = 38 + rows * 15 + (live.length > rows ? 15 : 0);
        double bx = x + 12 + bw > px1 ? x - 12 - bw : x + 12;
        double by = Math.max(py0, Math.min(hoverY, py1 - bh));
        g.setFill(Color.color(1, 1, 1, 0.95));
        g.fillRect(bx, by, bw, bh);
        g.setStroke(Color.web("#9ca3af"));
        g.strokeRect(bx, by, bw, bh);
        g.setFill(Color.web("#111827"));
        g.setFont(Font.font("System", FontWeight.BOLD, 12));
        g.setTextAlign(TextAlignment.LEFT);
        g.fillText(clip(head, 46), bx + 8, by + 15);
        g.setFont(Font.font(11));
        g.fillText(Fmt.bytes(d.total(sample)) + " on the device in " + live.length + " tensors", bx + 8, by + 30);
        for (int i = 0; i < rows; i++) {
            TensorInfo t = a.schedule().tensor(live[i]);
            g.setFill(ROLE_COLORS[t.role().ordinal()]);
            g.fillRect(bx + 8, by + 37 + i * 15, 8, 8);
            g.setFill(Color.web("#111827"));
            g.fillText(clip(t.name(), 34), bx + 22, by + 45 + i * 15);
            g.setTextAlign(TextAlignment.RIGHT);
            g.fillText(Fmt.bytes(t.bytes()), bx + bw - 8, by + 45 + i * 15);
            g.setTextAlign(TextAlignment.LEFT);
        }
        if (live.length > rows) g.fillText("\u2026 and " + (live.length - rows) + " more",
                bx + 22, by + 45 + rows * 15);
    }

    private static String clip(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "\u2026";
    }
}

package memplan.app.ui.graph;

import javafx.beans.property.DoubleProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import memplan.app.ui.session.Analysis;

import java.util.Locale;

/**
 * Zoom, pan and search over a {@link GraphLayout}: world coordinates map to the view as
 * {@code view = world * scale + offset}. No JavaFX nodes, so fit, zoom and search are tested without a screen.
 */
public final class GraphViewModel {
    public static final double MIN_SCALE = 0.05, MAX_SCALE = 4;
    private final DoubleProperty scale = new SimpleDoubleProperty(1);
    private final DoubleProperty offsetX = new SimpleDoubleProperty(0);
    private final DoubleProperty offsetY = new SimpleDoubleProperty(0);
    private final StringProperty search = new SimpleStringProperty("");
    private int lastMatch = -1;

    public DoubleProperty scaleProperty() { return scale; }
    public DoubleProperty offsetXProperty() { return offsetX; }
    public DoubleProperty offsetYProperty() { return offsetY; }
    public StringProperty searchProperty() { return search; }

    public double toViewX(double wx) { return wx * scale.get() + offsetX.get(); }
    public double toViewY(double wy) { return wy * scale.get() + offsetY.get(); }
    public double toWorldX(double vx) { return (vx - offsetX.get()) / scale.get(); }
    public double toWorldY(double vy) { return (vy - offsetY.get()) / scale.get(); }

    /**
     * Scales the whole drawing into a view of that size (never above 1:1, never below a readable minimum for tiny
     * views).
     */
    public void fit(GraphLayout l, double viewW, double viewH) {
        if (l == null || viewW <= 0 || viewH <= 0) return;
        double margin = 20;
        double s = Math.min((viewW - 2 * margin) / Math.max(1, l.width()),
                (viewH - 2 * margin) / Math.max(1, l.height()));
        s = clamp(Math.min(1, s));
        scale.set(s);
        offsetX.set(viewW / 2 - (l.minX() + l.width() / 2) * s);
        offsetY.set(Math.max(margin, viewH / 2 - l.height() / 2 * s));
    }

    /**
     * Fits the width and shows the top: what a tall network (ResNet-50, GPT-2) opens with, so node names stay readable.
     */
    public void fitWidthTop(GraphLayout l, double viewW, double viewH) {
        if (l == null || viewW <= 0 || viewH <= 0) return;
        fit(l, viewW, viewH);
        double margin = 20;
        double s = clamp(Math.min(1, (viewW - 2 * margin) / Math.max(1, l.width())));
        if (s > scale.get()) {
            scale.set(s);
            offsetX.set(viewW / 2 - (l.minX() + l.width() / 2) * s);
            offsetY.set(margin);
        }
    }

    /** Zooms by a factor keeping the view point (px, py) fixed. */
    public void zoomAt(double factor, double px, double py) {
        double wx = toWorldX(px), wy = toWorldY(py);
        scale.set(clamp(scale.get() * factor));
        offsetX.set(px - wx * scale.get());
        offsetY.set(py - wy * scale.get());
    }

    public void pan(double dx, double dy) {
        offsetX.set(offsetX.get() + dx);
        offsetY.set(offsetY.get() + dy);
    }

    /** Centres the view on a node, zooming in to at least 0.8 so its name is readable. */
    public void centerOn(GraphLayout l, int node, double viewW, double viewH) {
        if (scale.get() < 0.8) scale.set(0.8);
        offsetX.set(viewW / 2 - l.x(node) * scale.get());
        offsetY.set(viewH / 2 - l.y(node) * scale.get());
    }

    /** The next layer (after the previous match) whose name contains the search text, ignoring case; -1 if none. */
    public int findNext(Analysis a) {
        String q = search.get() == null ? "" : search.get().trim().toLowerCase(Locale.ROOT);
        if (a == null || q.isEmpty()) return -1;
        int n = a.graph().nodes().size();
        for (int k = 1; k <= n; k++) {
            int i = (lastMatch + k + n) % n;
            if (a.graph().nodes().get(i).name().toLowerCase(Locale.ROOT).contains(q)) {
                lastMatch = i;
                return i;
            }
        }
        return -1;
    }

    public void resetSearch() {
        lastMatch = -1;
    }

    private static double clamp(double s) {
        return Math.max(MIN_SCALE, Math.min(MAX_SCALE, s));
    }

    /**
     * Heat colour for a fraction 0..1 of the largest layer's bytes at the peak: white, yellow, orange, red. RGB 0..1.
     */
    public static double[] heat(double f) {
        f = Math.max(0, Math.min(1, f));
        double r, g, b;
        if (f < 0.5) {
            double t = f / 0.5;
            r = 1;
            g = 1 - 0.12 * t;
            b = 1 - 0.75 * t;
        } else {
            double t = (f - 0.5) / 0.5;
            r = 1 - 0.1 * t;
            g = 0.88 - 0.58 * t;
            b = 0.25 - 0.1 * t;
        }
        return new double[]{r, g, b};
    }
}

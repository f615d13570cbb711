package memplan.app.ui.planner;

import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.paint.Color;
import javafx.scene.text.Font;
import javafx.scene.text.FontWeight;
import javafx.scene.text.TextAlignment;
import memplan.app.ui.Fmt;
import memplan.app.ui.timeline.TimelineData;
import memplan.app.ui.timeline.TimelineView;
import memplan.ir.TensorRole;

import java.util.Locale;

/** A small stacked-area timeline for side-by-side comparisons (same byte scale for both sides). */
final class MiniTimeline extends Canvas {
    MiniTimeline(double w, double h) {
        super(w, h);
    }

    void draw(TimelineData d, long yMax, long budget, String title) {
        GraphicsContext g = getGraphicsContext2D();
        double w = getWidth(), h = getHeight();
        g.setFill(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setStroke(Color.web("#d1d5db"));
        g.strokeRect(0.5, 0.5, w - 1, h - 1);
        g.setFill(Color.web("#111827"));
        g.setFont(Font.font("System", FontWeight.BOLD, 12));
        g.fillText(title, 6, 14);
        if (d == null || d.points() == 0 || yMax <= 0) return;
        double x0 = 52, x1 = w - 6, y0 = 20, y1 = h - 18;
        // axes: bytes from 0 to the shared top on the left, the iteration's time along the bottom
        g.setStroke(Color.web("#9ca3af"));
        g.strokeLine(x0, y0, x0, y1);
        g.strokeLine(x0, y1, x1, y1);
        g.setFill(Color.web("#4b5563"));
        g.setFont(Font.font(10));
        g.setTextAlign(TextAlignment.RIGHT);
        g.fillText(Fmt.bytes(yMax), x0 - 4, y0 + 8);
        g.fillText("0", x0 - 4, y1);
        g.setTextAlign(TextAlignment.LEFT);
        g.fillText("0", x0, y1 + 12);
        g.setTextAlign(TextAlignment.RIGHT);
        double span = d.x()[d.x().length - 1] - d.x()[0];
        String length = d.xLabel().equals("ms") ? String.format(Locale.ROOT, "%.1f ms", span) : (long) span + " steps";
        g.fillText(length, x1, y1 + 12);
        g.setTextAlign(TextAlignment.LEFT);
        double xs = d.x()[0], xe = d.x()[d.x().length - 1];
        if (xe <= xs) xe = xs + 1;
        int n = d.points();
        long[] cum = new long[n];
        for (TensorRole r : TensorRole.values()) {
            long[] v = d.byRole()[r.ordinal()];
            g.setFill(TimelineView.ROLE_COLORS[r.ordinal()]);
            for (int i = 0; i < n; i++) {
                if (v[i] == 0) continue;
                double xa = x0 + (d.x()[i] - xs) / (xe - xs) * (x1 - x0),
                        xb = x0 + (d.x()[i + 1] - xs) / (xe - xs) * (x1 - x0);
                double ya = y1 - (double) (cum[i] + v[i]) / yMax * (y1 - y0),
                        yb = y1 - (double) cum[i] / yMax * (y1 - y0);
                g.fillRect(xa, ya, Math.max(0.6, xb - xa), yb - ya);
                cum[i] += v[i];
            }
        }
        if (budget > 0) {
            double y = y1 - (double) budget / yMax * (y1 - y0);
            g.setStroke(Color.web("#dc2626"));
            g.setLineDashes(6, 4);
            g.strokeLine(x0, y, x1, y);
            g.setLineDashes();
        }
        double py = y1 - (double) d.peakBytes() / yMax * (y1 - y0);
        g.setFill(Color.web("#111827"));
        g.setFont(Font.font(11));
        g.fillText("peak " + Fmt.bytes(d.peakBytes()), w - 110, Math.max(30, py - 4));
    }
}

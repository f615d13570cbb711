package memplan.app.ui.parallel;

import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.paint.Color;
import javafx.scene.text.Font;
import javafx.scene.text.FontWeight;
import memplan.app.ui.Fmt;
import memplan.app.ui.timeline.TimelineView;
import memplan.ir.TensorRole;
import memplan.parallel.Layout;
import memplan.parallel.RankPlans;
import memplan.sim.Timeline;

import java.util.ArrayList;
import java.util.List;

/**
 * One strip per distinct rank (per stage under a pipeline): its live bytes by role over the iteration's instructions,
 * on one byte scale for all, with the rank of the highest peak outlined and marked.
 */
final class RankTimeline extends Canvas {
    /** Strips drawn at most; the rest are said in a line. */
    static final int MAX_STRIPS = 12;
    private static final double STRIP = 70;
    private String highestLabel = "";

    RankTimeline(double width) {
        super(width, STRIP);
        setId("rankTimeline");
    }

    /** What the marked strip says ("highest peak: rank 2 ..."), for tests and screen readers. */
    String highestLabel() {
        return highestLabel;
    }

    void draw(LayoutViewModel.Result r) {
        GraphicsContext g = getGraphicsContext2D();
        if (r == null) {
            setHeight(STRIP);
            g.clearRect(0, 0, getWidth(), getHeight());
            highestLabel = "";
            return;
        }
        Layout l = r.layout();
        List<RankPlans.RankPlan> all = r.ranks().ranks();
        RankPlans.RankPlan h = r.ranks().highest();
        List<RankPlans.RankPlan> ranks = new ArrayList<>(all.subList(0, Math.min(all.size(), MAX_STRIPS)));
        if (!ranks.contains(h)) ranks.set(ranks.size() - 1, h);   // the highest is always drawn
        int strips = ranks.size();
        setHeight(strips * STRIP + (all.size() > strips ? 16 : 0));
        double w = getWidth();
        g.setFill(Color.WHITE);
        g.fillRect(0, 0, w, getHeight());
        long yMax = Math.max(1, h.peakBytes());
        for (int k = 0; k < strips; k++) {
            RankPlans.RankPlan x = ranks.get(k);
            double top = k * STRIP, x0 = 56, x1 = w - 6, y0 = top + 16, y1 = top + STRIP - 6;
            boolean highest = x == h;
            g.setStroke(highest ? Color.web("#dc2626") : Color.web("#d1d5db"));
            g.setLineWidth(highest ? 2 : 1);
            g.strokeRect(1, top + 1, w - 2, STRIP - 2);
            g.setLineWidth(1);
            g.setFill(Color.web("#111827"));
            g.setFont(Font.font("System", FontWeight.BOLD, 11));
            String title = "rank " + x.globalRank(l) + (l.pp() > 1 ? "  stage " + x.before().stage() : "")
                    + "  peak " + Fmt.bytes(x.peakBytes());
            g.fillText(title, 6, top + 13);
            if (highest) {
                highestLabel = "highest peak: rank " + x.globalRank(l) + ", " + Fmt.bytes(x.peakBytes());
                g.setFill(Color.web("#dc2626"));
                g.fillText("\u25B2 highest peak", w - 100, top + 13);
            }
            Timeline t = x.after().timeline();
            int n = t.positions();
            if (n == 0) continue;
            g.setFill(Color.web("#4b5563"));
            g.setFont(Font.font(9));
            g.fillText(Fmt.bytes(yMax), 4, y0 + 8);
            long[] cum = new long[n];
            for (TensorRole role : TensorRole.values()) {
                g.setFill(TimelineView.ROLE_COLORS[role.ordinal()]);
                for (int i = 0; i < n; i++) {
                    long v = t.live(role, i);
                    if (v <= 0) continue;
                    double xa = x0 + (x1 - x0) * i / n, xb = x0 + (x1 - x0) * (i + 1) / n;
                    double ya = y1 - (double) (cum[i] + v) / yMax * (y1 - y0), yb = y1 - (double) cum[i] / yMax
                            * (y1 - y0);
                    g.fillRect(xa, ya, Math.max(0.6, xb - xa), yb - ya);
                    cum[i] += v;
                }
            }
        }
        if (all.size() > strips) {
            g.setFill(Color.web("#4b5563"));
            g.setFont(Font.font(10));
            g.fillText((all.size() - strips) + " more distinct ranks not drawn", 6, strips * STRIP + 12);
        }
    }
}

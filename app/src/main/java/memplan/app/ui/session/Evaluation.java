package memplan.app.ui.session;

import memplan.app.ui.timeline.TimelineData;
import memplan.plan.Plan;
import memplan.sim.SimResult;

/**
 * What the views show for one plan of one analysis: the timeline, the predicted peak, time and overhead, and the
 * bytes each layer holds at the peak (for colouring the graph). {@code iterationSeconds} is NaN when unknown;
 * {@code sim} is null for a profile-only evaluation.
 */
public record Evaluation(Plan plan, SimResult sim, TimelineData timeline, long peakBytes, double iterationSeconds,
                         double overheadFraction, long bytesMoved, long[] nodeBytesAtPeak, double millis) {

    public long maxNodeBytes() {
        long m = 0;
        for (long b : nodeBytesAtPeak) m = Math.max(m, b);
        return m;
    }
}

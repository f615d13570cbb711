package memplan.sim;

import memplan.ir.TensorRole;

import java.util.List;

/**
 * A timeline of one iteration, predicted or measured: events, and per instruction position its start time, the live
 * device bytes per role and the bytes held on the host by swaps.
 */
public record Timeline(List<TimelineEvent> events, double[] positionSeconds, long[][] liveByRole, long[] hostBytes) {

    public int positions() {
        return positionSeconds.length;
    }

    public long live(int pos) {
        long b = 0;
        for (long[] r : liveByRole) b += r[pos];
        return b;
    }

    public long live(TensorRole role, int pos) {
        return liveByRole[role.ordinal()][pos];
    }

    public long peakBytes() {
        long p = 0;
        for (int i = 0; i < positions(); i++) p = Math.max(p, live(i));
        return p;
    }
}

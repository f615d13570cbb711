package memplan.app.ui.timeline;

import memplan.ir.TensorRole;

import java.util.List;

/**
 * What the memory timeline draws, free of JavaFX: {@code points} samples of device bytes per role (stacked), host
 * bytes (swapped-out tensors, drawn apart), the peak, markers for events, and where each tensor lives.
 * Sample i covers x in [x[i], x[i+1]) ({@code x} has points+1 entries); {@code labels[i]} says what runs then.
 * {@code backwardX} and {@code optimizerX} are where those phases start (NaN if unknown).
 */
public record TimelineData(String xLabel, double[] x, String[] labels, long[][] byRole, long[] host,
        int peakIndex, long peakBytes,
                           List<Marker> markers, Lifetimes lifetimes, double backwardX, double optimizerX) {

    /** A point event on the timeline. */
    public enum MarkerKind {
        SWAP_OUT("swap out"), SWAP_IN("swap in"), RECOMPUTE("recompute"), ENCODE("encode"),
                DECODE("decode"), STALL("stall");

        public final String label;

        MarkerKind(String label) {
            this.label = label;
        }
    }

    public record Marker(double x, double x2, MarkerKind kind, int tensor, String label) {
    }

    /** Intervals during which a tensor is on the device (x0, x1 pairs), and the tensors live at a sample. */
    public interface Lifetimes {
        double[] intervals(int tensor);

        int[] liveAt(int sample);
    }

    public int points() {
        return labels.length;
    }

    public long total(int i) {
        long t = 0;
        for (long[] r : byRole) t += r[i];
        return t;
    }

    public long maxHost() {
        long m = 0;
        for (long h : host) m = Math.max(m, h);
        return m;
    }

    public long role(TensorRole r, int i) {
        return byRole[r.ordinal()][i];
    }

    /** Index of the sample covering x, or -1. */
    public int sampleAt(double px) {
        if (points() == 0 || px < x[0] || px >= x[x.length - 1]) return -1;
        int lo = 0, hi = points() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (x[mid] <= px) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }
}

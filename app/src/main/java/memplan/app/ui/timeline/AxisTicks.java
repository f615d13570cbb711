package memplan.app.ui.timeline;

import java.util.Locale;

/**
 * Round tick values for an axis: steps of 1, 2, 2.5 or 5 times a power of ten in the unit that fits (bytes: B, KiB,
 * MiB, GiB, TiB; time: as given), so labels read 0, 256 MiB, 512 MiB... rather than 229, 457, 686 MiB.
 */
public record AxisTicks(double step, double top, String unit, double unitSize) {
    private static final double[] STEPS = {1, 2, 2.5, 5};
    private static final String[] BYTE_UNITS = {"B", "KiB", "MiB", "GiB", "TiB"};

    /** Ticks for bytes from 0 to at least {@code max}, at most {@code maxTicks} steps. */
    public static AxisTicks bytes(long max, int maxTicks) {
        double m = Math.max(1, max);
        int u = 0;
        while (u < BYTE_UNITS.length - 1 && m >= 1024 * Math.pow(1024, u)) u++;
        double unit = Math.pow(1024, u);
        double step = niceStep(m / unit, maxTicks) * unit;
        if (u == 0) step = Math.max(1, Math.round(step));
        return new AxisTicks(step, Math.ceil(m / step) * step, BYTE_UNITS[u], unit);
    }

    /** Ticks for a plain number axis (milliseconds, steps) covering [0, max]. */
    public static AxisTicks plain(double max, int maxTicks, String unit) {
        double m = max > 0 ? max : 1;
        double step = niceStep(m, maxTicks);
        return new AxisTicks(step, Math.ceil(m / step - 1e-9) * step, unit, 1);
    }

    /** The smallest 1/2/2.5/5 x 10^k step that covers {@code range} in at most {@code maxTicks} steps. */
    static double niceStep(double range, int maxTicks) {
        double raw = range / Math.max(1, maxTicks);
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double s : STEPS) if (s * p >= raw * (1 - 1e-9)) return s * p;
        return 10 * p;
    }

    public int count() {
        return (int) Math.round(top / step);
    }

    public double value(int k) {
        return k * step;
    }

    /** "512 MiB", "1.5 GiB", "0": the tick's value with only the decimals the step needs. */
    public String label(int k) {
        return labelOf(value(k));
    }

    /** A value on this axis written as its ticks are (a zoomed axis starts at a multiple of the step, not 0). */
    public String labelOf(double value) {
        double v = value / unitSize;
        if (v == 0) return "0";
        double st = step / unitSize;
        int decimals = st >= 1 ? 0 : st >= 0.1 - 1e-12 ? (Math.abs(st * 10 - Math.round(st * 10)) < 1e-9 ? 1 : 2) : 3;
        String n = String.format(Locale.ROOT, "%." + decimals + "f", v);
        return unit.isEmpty() ? n : n + " " + unit;
    }
}

package memplan.app.ui;

import memplan.units.ByteSize;

import java.util.Locale;

/** Number formats shared by the views. */
public final class Fmt {
    private Fmt() {
    }

    public static String bytes(long b) {
        return ByteSize.format(b);
    }

    public static String millis(double ms) {
        if (Double.isNaN(ms)) return "–";
        if (ms < 1) return ms * 1000 >= 10 ? String.format(Locale.ROOT, "%.0f \u00b5s", ms * 1000)
                : String.format(Locale.ROOT, "%.1f \u00b5s", ms * 1000);
        return ms >= 100 ? String.format(Locale.ROOT, "%.0f ms", ms) : String.format(Locale.ROOT, "%.1f ms", ms);
    }

    public static String seconds(double s) {
        if (Double.isNaN(s)) return "–";
        return s >= 1 ? String.format(Locale.ROOT, "%.2f s", s) : millis(s * 1000);
    }

    public static String percent(double f) {
        if (Double.isNaN(f)) return "–";
        return String.format(Locale.ROOT, "%+.1f%%", f * 100);
    }
}

package memplan.planner;

import memplan.units.ByteSize;

import java.util.Locale;

/**
 * A memory budget as given by a user: bytes ("6GiB", "512MiB", "1073741824") or a share of the baseline peak
 * ("50%"). {@link #resolve} turns it into bytes.
 */
public record Budget(long bytes, double fraction) {

    public static Budget ofBytes(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("a budget must be positive, got " + bytes + " B");
        return new Budget(bytes, Double.NaN);
    }

    public static Budget ofFraction(double fraction) {
        if (!(fraction > 0) || fraction > 10)
            throw new IllegalArgumentException("a budget share must lie in (0%, 1000%], got " + fraction * 100 + "%");
        return new Budget(-1, fraction);
    }

    public static Budget parse(String text) {
        String t = text == null ? "" : text.trim();
        if (t.endsWith("%")) {
            double v;
            try {
                v = Double.parseDouble(t.substring(0, t.length() - 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "' is not a budget (examples: 6GiB, 512MiB, 50%)");
            }
            return ofFraction(v / 100);
        }
        try {
            return ofBytes(ByteSize.parse(t));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "' is not a budget (examples: 6GiB, 512MiB, 50%)");
        }
    }

    public boolean relative() {
        return bytes < 0;
    }

    /** Bytes, given the baseline peak that a share refers to. */
    public long resolve(long baselinePeakBytes) {
        return relative() ? Math.max(1, Math.round(fraction * baselinePeakBytes)) : bytes;
    }

    @Override
    public String toString() {
        return relative() ? String.format(Locale.ROOT, "%.0f%%", fraction * 100) : ByteSize.format(bytes);
    }
}

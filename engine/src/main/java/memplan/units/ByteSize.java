package memplan.units;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses and prints memory sizes: plain bytes, or with units (KiB, MiB, GiB, TiB; KB, MB, GB, TB are decimal). */
public final class ByteSize {
    private static final Pattern SIZE = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([KMGT]i?B|B)?\\s*",
            Pattern.CASE_INSENSITIVE);

    private ByteSize() {
    }

    /** Throws IllegalArgumentException with the accepted forms when the text is not a size. */
    public static long parse(String text) {
        Matcher m = SIZE.matcher(text == null ? "" : text);
        if (!m.matches())
            throw new IllegalArgumentException("'" + text
                    + "' is not a memory size (examples: 1073741824, 512MiB, 6GiB, 16GB)");
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        double mult = switch (unit) {
            case "B" -> 1;
            case "KIB" -> 1L << 10;
            case "MIB" -> 1L << 20;
            case "GIB" -> 1L << 30;
            case "TIB" -> 1L << 40;
            case "KB" -> 1e3;
            case "MB" -> 1e6;
            case "GB" -> 1e9;
            case "TB" -> 1e12;
            default -> throw new IllegalArgumentException("unknown unit in '" + text + "'");
        };
        double bytes = v * mult;
        if (bytes > Long.MAX_VALUE / 2) throw new IllegalArgumentException("'" + text + "' is too large");
        return Math.round(bytes);
    }

    /** e.g. "1.50 GiB", "12.0 MiB", "512 B". */
    public static String format(long bytes) {
        double b = Math.abs((double) bytes);
        String sign = bytes < 0 ? "-" : "";
        if (b < 1024) return sign + (long) b + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int u = -1;
        while (b >= 1024 && u < units.length - 1) {
            b /= 1024;
            u++;
        }
        return sign + String.format(Locale.ROOT, b >= 100 ? "%.0f %s" : b >= 10 ? "%.1f %s" : "%.2f %s", b, units[u]);
    }
}

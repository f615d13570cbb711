package memplan.onnx;

import memplan.ir.Shape;
import memplan.model.ModelDef;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Dimensions as functions of the batch, read from the two evaluation lanes (see {@link Val}): a dimension equal in
 * both lanes is a number; one that differs is an affine function a·N + b of the batch N, which two lanes determine
 * (exporters' shape arithmetic on the batch is sums and products with fixed sizes). Used to size what MemPlan
 * creates per batch (a Fill op) and to write shapes in messages as "[N, 197, 768]", never as the
 * lanes' internal batch values.
 */
final class BatchDims {
    private BatchDims() {
    }

    /** The slope a and intercept b of a·N + b through the two lanes' values, or null when not whole numbers. */
    static long[] affine(long d0, long d1) {
        long db = Converter.LANE_BATCH[1] - Converter.LANE_BATCH[0];
        if ((d1 - d0) % db != 0) return null;
        long a = (d1 - d0) / db;
        return new long[]{a, d0 - a * Converter.LANE_BATCH[0]};
    }

    /** A dimension as a model dimension: a number, or "N" for the batch itself; null for anything else. */
    static String modelDim(long d0, long d1) {
        if (d0 == d1) return Long.toString(d0);
        long[] ab = affine(d0, d1);
        return ab != null && ab[0] == 1 && ab[1] == 0 ? ModelDef.BATCH : null;
    }

    /** A shape's model dimensions, or null when one depends on the batch other than as N itself. */
    static List<String> modelDims(int[] s0, int[] s1) {
        if (s0.length != s1.length) return null;
        List<String> out = new ArrayList<>();
        for (int i = 0; i < s0.length; i++) {
            String d = modelDim(s0[i], s1[i]);
            if (d == null) return null;
            out.add(d);
        }
        return out;
    }

    /** A dimension for a message: "768", "N", "3*N", "N+1", or "(a size that depends on the batch)". */
    static String describe(long d0, long d1) {
        if (d0 == d1) return Long.toString(d0);
        long[] ab = affine(d0, d1);
        if (ab == null) return "(a size that depends on the batch)";
        String n = ab[0] == 1 ? ModelDef.BATCH : ab[0] == -1 ? "-" + ModelDef.BATCH : ab[0] + "*" + ModelDef.BATCH;
        return ab[1] == 0 ? n : n + (ab[1] > 0 ? "+" : "-") + Math.abs(ab[1]);
    }

    /** A shape for a message, e.g. "[N, 197, 768]". */
    static String describe(int[] s0, int[] s1) {
        if (s0.length != s1.length) return "(a shape whose rank depends on the batch)";
        List<String> out = new ArrayList<>();
        for (int i = 0; i < s0.length; i++) out.add(describe(s0[i], s1[i]));
        return "[" + String.join(", ", out) + "]";
    }

    static String describe(long[] s0, long[] s1) {
        if (s0.length != s1.length) return "(a shape whose rank depends on the batch)";
        List<String> out = new ArrayList<>();
        for (int i = 0; i < s0.length; i++) out.add(describe(s0[i], s1[i]));
        return "[" + String.join(", ", out) + "]";
    }

    private static final Pattern NUMBER = Pattern.compile("\\d+");

    /**
     * One message from the same error in the two lanes: numbers that differ are written over N ("[N, 3] and
     * [2*N, 3] do not broadcast"). Null when the two messages differ in their words.
     */
    static String merge(String m0, String m1) {
        if (m0 == null || m1 == null) return null;
        Matcher a = NUMBER.matcher(m0), b = NUMBER.matcher(m1);
        StringBuilder out = new StringBuilder();
        int ia = 0, ib = 0;
        while (true) {
            boolean fa = a.find(), fb = b.find();
            if (fa != fb) return null;
            String ta = m0.substring(ia, fa ? a.start() : m0.length());
            String tb = m1.substring(ib, fb ? b.start() : m1.length());
            if (!ta.equals(tb)) return null;
            out.append(ta);
            if (!fa) return out.toString();
            String x = a.group(), y = b.group();
            String d = x.equals(y) ? x : x.length() > 18 || y.length() > 18 ? "(a size that depends on the batch)"
                    : describe(Long.parseLong(x), Long.parseLong(y));
            // shapes written "[2*Nx3]" read better as "[(2*N)x3]"
            boolean inShape = a.start() > 0 && m0.charAt(a.start() - 1) == 'x'
                    || a.end() < m0.length() && m0.charAt(a.end()) == 'x';
            out.append(inShape && !d.equals(ModelDef.BATCH) && !d.matches("\\d+") && !d.startsWith("(")
                    ? "(" + d + ")" : d);
            ia = a.end();
            ib = b.end();
        }
    }

    /** An activation's shape for a message. */
    static String describe(Shape[] lanes) {
        return describe(lanes[0].dims(), lanes[1].dims());
    }
}

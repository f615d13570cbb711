package memplan.onnx;

import memplan.ir.Shape;
import memplan.ops.Pad;
import memplan.ops.Reshape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Window attributes shared by convolution and pooling: kernel, strides, dilations and pads over 1, 2 or 3 spatial
 * axes; and the views that run a 1-D op as its 2-D form.
 */
final class Spatial {
    private Spatial() {
    }

    /** A 2-D attribute (kernel_shape, strides, ...), dflt in both places when absent; each value at least min. */
    static int[] pair(OnnxNode n, String name, int dflt, int min) {
        long[] v = n.attrInts(name);
        if (v == null) return new int[]{dflt, dflt};
        if (v.length != 2) throw new Unsupported(n.type() + " (" + v.length + "-D)", name + " has " + v.length
                + " values; only 2-D is supported");
        int[] out = n.smallInts(v, name.replace('_', ' ') + " value");
        for (int x : out)
            if (x < min) throw n.error("the " + name + " must be at least " + min + ", got " + Arrays.toString(v));
        return out;
    }

    /**
     * An attribute of a spatial op over {@code rank} spatial axes (kernel_shape, strides, ...), dflt on every axis
     * when absent; each value at least min.
     */
    static int[] ints(OnnxNode n, String name, int rank, int dflt, int min) {
        long[] v = n.attrInts(name);
        if (v == null) {
            int[] out = new int[rank];
            Arrays.fill(out, dflt);
            return out;
        }
        if (v.length != rank) throw n.error("the " + name + " has " + v.length + " values for a " + rank
                + "-D input, expected " + rank);
        int[] out = n.smallInts(v, name.replace('_', ' ') + " value");
        for (int x : out)
            if (x < min) throw n.error("the " + name + " must be at least " + min + ", got " + Arrays.toString(v));
        return out;
    }

    /** The spatial sizes of an [N, C, ...] activation (in the first lane; spatial sizes never follow the batch). */
    static int[] spatialSizes(Val x) {
        int[] out = new int[x.rank() - 2];
        for (int i = 0; i < out.length; i++) out[i] = x.shape[0].dim(2 + i);
        return out;
    }

    /** begin/end pads of a 2-D spatial op, honouring auto_pad; kernel is the effective (dilated) size. */
    static int[] pads2d(OnnxNode n, Shape x, int[] kernelEff, int[] strides) {
        return pads(n, new int[]{x.dim(2), x.dim(3)}, kernelEff, strides);
    }

    /** begin pads then end pads of a spatial op over in.length axes, honouring auto_pad. */
    static int[] pads(OnnxNode n, int[] in, int[] kernelEff, int[] strides) {
        int r = in.length;
        String auto = n.attrString("auto_pad", "NOTSET");
        int[] pads = new int[2 * r];
        if (auto.equals("SAME_UPPER") || auto.equals("SAME_LOWER")) {
            for (int i = 0; i < r; i++) {
                int out = (in[i] + strides[i] - 1) / strides[i];
                int total = Math.max(0, (out - 1) * strides[i] + kernelEff[i] - in[i]);
                int small = total / 2, big = total - small;
                pads[i] = auto.equals("SAME_UPPER") ? small : big;
                pads[i + r] = auto.equals("SAME_UPPER") ? big : small;
            }
        } else if (!auto.equals("VALID")) {
            if (!auto.equals("NOTSET")) throw n.error("unknown auto_pad '" + auto + "'");
            long[] p = n.attrInts("pads");
            if (p != null) {
                if (p.length != 2 * r) throw n.error("pads must have " + 2 * r + " values for a " + r
                        + "-D op, got " + Arrays.toString(p));
                pads = nonNegative(n, p);
            }
        }
        return pads;
    }

    /** [N, C, L] as the view [N, C, 1, L], so that a 1-D op runs as its 2-D form (as PyTorch runs it). */
    static Val as2d(Converter cv, OnnxNode n, Val x) {
        return cv.emit(n.hint() + "/as2d", new Reshape(List.of(0, 0, 1, -1)), List.of(x)).get(0);
    }

    /** The [N, C, 1, L] result of a 1-D op's 2-D form as [N, C, L]. */
    static Val from2d(Converter cv, OnnxNode n, Val y) {
        return cv.emit(n.hint() + "/as1d", new Reshape(List.of(0, 0, -1)), List.of(y)).get(0);
    }

    /** Lifts a 1-D attribute to the 2-D form's (height 1 first): {v} -> {one, v}. */
    static int[] lift(int[] v, int one) {
        return new int[]{one, v[0]};
    }

    /** Lifts 1-D pads {begin, end} to 2-D pads {0, begin, 0, end}. */
    static int[] liftPads(int[] p) {
        return new int[]{0, p[0], 0, p[1]};
    }

    /** A Pad for the asymmetric (or extra) padding a symmetric 3-D op cannot express; returns the input to use. */
    static Val padExtra3d(Converter cv, OnnxNode n, Val x, int[] pads, int[] sym) {
        boolean none = true;
        List<Integer> p = new ArrayList<>(List.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        for (int i = 0; i < 3; i++) {
            p.set(2 + i, pads[i] - sym[i]);
            p.set(7 + i, pads[i + 3] - sym[i]);
            none &= pads[i] == sym[i] && pads[i + 3] == sym[i];
        }
        if (none) return x;
        return cv.emit(n.hint() + "/pad", new Pad(p, "constant"), List.of(x)).get(0);
    }

    static int[] nonNegative(OnnxNode n, long[] pads) {
        int[] out = n.smallInts(pads, "pad");
        for (int p : out) if (p < 0) throw n.error("pads must not be negative, got " + Arrays.toString(pads));
        return out;
    }

    /** A Pad for the asymmetric (or extra) padding a symmetric op cannot express; returns the input to use. */
    static Val padExtra(Converter cv, OnnxNode n, Val x, int[] pads, int[] sym) {
        int eh0 = pads[0] - sym[0], ew0 = pads[1] - sym[1], eh1 = pads[2] - sym[0], ew1 = pads[3] - sym[1];
        if (eh0 == 0 && ew0 == 0 && eh1 == 0 && ew1 == 0) return x;
        Pad pad = new Pad(List.of(0, 0, eh0, ew0, 0, 0, eh1, ew1), "constant");
        return cv.emit(n.hint() + "/pad", pad, List.of(x)).get(0);
    }
}

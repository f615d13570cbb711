package memplan.onnx;

import memplan.ir.Shape;
import memplan.ops.Pad;

import java.util.Arrays;
import java.util.List;

/** Window attributes shared by convolution and pooling: kernel, strides, dilations and pads of a 2-D op. */
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

    /** begin/end pads of a 2-D spatial op, honouring auto_pad; kernel is the effective (dilated) size. */
    static int[] pads2d(OnnxNode n, Shape x, int[] kernelEff, int[] strides) {
        String auto = n.attrString("auto_pad", "NOTSET");
        int[] pads = new int[4];
        if (auto.equals("SAME_UPPER") || auto.equals("SAME_LOWER")) {
            for (int i = 0; i < 2; i++) {
                int in = x.dim(2 + i);
                int out = (in + strides[i] - 1) / strides[i];
                int total = Math.max(0, (out - 1) * strides[i] + kernelEff[i] - in);
                int small = total / 2, big = total - small;
                pads[i] = auto.equals("SAME_UPPER") ? small : big;
                pads[i + 2] = auto.equals("SAME_UPPER") ? big : small;
            }
        } else if (!auto.equals("VALID")) {
            if (!auto.equals("NOTSET")) throw n.error("unknown auto_pad '" + auto + "'");
            long[] p = n.attrInts("pads");
            if (p != null) {
                if (p.length != 4) throw n.error("pads must have 4 values for a 2-D op, got " + Arrays.toString(p));
                pads = nonNegative(n, p);
            }
        }
        return pads;
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

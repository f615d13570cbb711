package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ops.AvgPool2d;
import memplan.ops.AvgPool3d;
import memplan.ops.GlobalAvgPool;
import memplan.ops.MaxPool2d;
import memplan.ops.MaxPool3d;
import memplan.ops.Pair;
import memplan.ops.Reshape;
import memplan.ops.Triple;

import java.util.ArrayList;
import java.util.List;

/**
 * Pooling: MaxPool, AveragePool (1-D, 2-D and 3-D, with ceil mode and asymmetric pads) and GlobalAveragePool (any
 * spatial rank).
 */
final class PoolMapper implements OpMapper {
    private final Converter cv;

    PoolMapper(Converter cv) {
        this.cv = cv;
    }

    @Override
    public List<Signature> handles() {
        return List.of(Signature.of("MaxPool", 1, 1), Signature.of("AveragePool", 1, 1),
                Signature.of("GlobalAveragePool", 1, 1));
    }

    @Override
    public void convert(OnnxNode n) {
        if (n.type().equals("GlobalAveragePool")) globalPool(n);
        else pool(n);
    }

    /** GlobalAvgPool over [N, C, H, W]; other ranks through the view [N, C, S, 1] (the same mean per channel). */
    private void globalPool(OnnxNode n) {
        Val x = n.act(0);
        if (x.rank() < 3) throw n.error("the input must be [N, C, ...] with a spatial axis, got rank " + x.rank());
        if (x.rank() == 4) {
            n.put(0, n.emit(new GlobalAvgPool(), List.of(x)));
            return;
        }
        Val v = cv.emit(n.hint() + "/as2d", new Reshape(List.of(0, 0, -1, 1)), List.of(x)).get(0);
        Val y = cv.emit(n.hint(), new GlobalAvgPool(), List.of(v)).get(0);
        List<Integer> back = new ArrayList<>(List.of(0, 0));
        for (int i = 2; i < x.rank(); i++) back.add(1);
        n.put(0, cv.emit(n.hint() + "/view", new Reshape(back), List.of(y)).get(0));
    }

    private void pool(OnnxNode n) {
        Val x = n.act(0);
        boolean max = n.type().equals("MaxPool");
        if (n.outputUsed(1)) throw new Unsupported("MaxPool (indices output)", null);
        if (x.rank() < 3 || x.rank() > 5)
            throw new Unsupported(n.type() + " (" + (x.rank() - 2) + "-D)", "only 1-D, 2-D and 3-D pooling is "
                    + "supported");
        int r = x.rank() - 2;
        if (n.attrInts("kernel_shape") == null) throw n.error("attribute 'kernel_shape' is missing");
        int[] k = Spatial.ints(n, "kernel_shape", r, 1, 1);
        int[] s = Spatial.ints(n, "strides", r, 1, 1), d = Spatial.ints(n, "dilations", r, 1, 1);
        for (int di : d) if (di != 1) throw new Unsupported(n.type() + " (dilation)", null);
        int[] in = Spatial.spatialSizes(x);
        int[] pads = Spatial.pads(n, in, k, s);
        if (n.attrInt("ceil_mode", 0) != 0) {
            // ceil mode: one more window where a partial window starts inside the input; pad the end to get it
            for (int i = 0; i < r; i++) {
                int span = in[i] + pads[i] + pads[i + r] - k[i];
                int out = (span + s[i] - 1) / s[i] + 1;
                if ((out - 1) * s[i] >= in[i] + pads[i]) out--;
                int floorOut = span / s[i] + 1;
                if (out > floorOut) pads[i + r] += (out - 1) * s[i] - span;
            }
        }
        int[] sym = new int[r];
        for (int i = 0; i < r; i++) sym[i] = Math.min(Math.min(pads[i], pads[i + r]), k[i] / 2);
        if (r == 3) {
            Val xin = Spatial.padExtra3d(cv, n, x, pads, sym);
            Triple kt = new Triple(k[0], k[1], k[2]), st = new Triple(s[0], s[1], s[2]);
            Triple pt = new Triple(sym[0], sym[1], sym[2]);
            n.put(0, n.emit(max ? new MaxPool3d(kt, st, pt) : new AvgPool3d(kt, st, pt), List.of(xin)));
            return;
        }
        boolean oneD = r == 1;
        if (oneD) {
            // max_pool1d and avg_pool1d run as their 2-D forms on [N, C, 1, L] in PyTorch too
            x = Spatial.as2d(cv, n, x);
            k = Spatial.lift(k, 1);
            s = Spatial.lift(s, 1);
            pads = Spatial.liftPads(pads);
            sym = Spatial.lift(sym, 0);
        }
        Val xin = Spatial.padExtra(cv, n, x, pads, sym);
        Pair kp = new Pair(k[0], k[1]), sp = new Pair(s[0], s[1]), pp = new Pair(sym[0], sym[1]);
        Val y = n.emit(max ? new MaxPool2d(kp, sp, pp) : new AvgPool2d(kp, sp, pp), List.of(xin));
        n.put(0, oneD ? Spatial.from2d(cv, n, y) : y);
    }
}

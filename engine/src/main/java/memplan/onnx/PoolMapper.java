package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ops.AvgPool2d;
import memplan.ops.GlobalAvgPool;
import memplan.ops.MaxPool2d;
import memplan.ops.Pair;

import java.util.List;

/** Pooling: MaxPool, AveragePool (2-D, with ceil mode and asymmetric pads) and GlobalAveragePool. */
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
        if (n.type().equals("GlobalAveragePool")) n.put(0, n.emit(new GlobalAvgPool(), List.of(n.act(0))));
        else pool(n);
    }

    private void pool(OnnxNode n) {
        Val x = n.act(0);
        boolean max = n.type().equals("MaxPool");
        if (n.outputUsed(1)) throw new Unsupported("MaxPool (indices output)", null);
        if (x.rank() != 4)
            throw new Unsupported(n.type() + " (" + (x.rank() - 2) + "-D)", "only 2-D pooling is supported");
        if (n.attrInts("kernel_shape") == null) throw n.error("attribute 'kernel_shape' is missing");
        int[] k = Spatial.pair(n, "kernel_shape", 1, 1);
        int[] s = Spatial.pair(n, "strides", 1, 1), d = Spatial.pair(n, "dilations", 1, 1);
        if (d[0] != 1 || d[1] != 1) throw new Unsupported(n.type() + " (dilation)", null);
        int[] pads = Spatial.pads2d(n, x.shape[0], k, s);
        if (n.attrInt("ceil_mode", 0) != 0) {
            // ceil mode: one more window where a partial window starts inside the input; pad the end to get it
            for (int i = 0; i < 2; i++) {
                int in = x.shape[0].dim(2 + i), span = in + pads[i] + pads[i + 2] - k[i];
                int out = (span + s[i] - 1) / s[i] + 1;
                if ((out - 1) * s[i] >= in + pads[i]) out--;
                int floorOut = span / s[i] + 1;
                if (out > floorOut) pads[i + 2] += (out - 1) * s[i] - span;
            }
        }
        int[] sym = {Math.min(Math.min(pads[0], pads[2]), k[0] / 2), Math.min(Math.min(pads[1], pads[3]), k[1] / 2)};
        Val xin = Spatial.padExtra(cv, n, x, pads, sym);
        Pair kp = new Pair(k[0], k[1]), sp = new Pair(s[0], s[1]), pp = new Pair(sym[0], sym[1]);
        n.put(0, n.emit(max ? new MaxPool2d(kp, sp, pp) : new AvgPool2d(kp, sp, pp), List.of(xin)));
    }
}

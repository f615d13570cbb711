package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ops.CumSum;
import memplan.ops.ReduceMean;
import memplan.ops.TopK;

import java.util.ArrayList;
import java.util.List;

/**
 * Reductions and scans along axes: ReduceMean (axes an attribute before opset 18, an input from 18 on), CumSum on a
 * computed tensor (of constants it is folded), TopK (k an attribute before opset 10, an input from 10 on).
 */
final class ReduceMapper implements OpMapper {
    private final Converter cv;

    ReduceMapper(Converter cv) {
        this.cv = cv;
    }

    @Override
    public List<Signature> handles() {
        return List.of(Signature.of("ReduceMean", 1, 2), Signature.of("CumSum", 2, 2),
                Signature.of("TopK", 1, 2));
    }

    @Override
    public void convert(OnnxNode n) {
        switch (n.type()) {
            case "CumSum" -> cumSum(n);
            case "TopK" -> topK(n);
            default -> reduceMean(n);
        }
    }

    private static void reduceMean(OnnxNode n) {
        Val x = n.act(0);
        long[] axes = n.opset() < 18 ? n.attrInts("axes") : n.ints(1, "axes");
        boolean keep = n.attrInt("keepdims", 1) != 0;
        List<Integer> ax = new ArrayList<>();
        if (axes != null) for (long a : axes) ax.add(n.axis(a, x.rank(), "axis"));
        if (ax.isEmpty() && n.attrInt("noop_with_empty_axes", 0) != 0) {
            n.put(0, x);
            return;
        }
        n.put(0, n.emit(new ReduceMean(ax, keep), List.of(x)));
    }

    private static boolean flag(OnnxNode n, String name, int dflt) {
        long v = n.attrInt(name, dflt);
        if (v != 0 && v != 1) throw n.error("attribute '" + name + "' must be 0 or 1, got " + v);
        return v == 1;
    }

    private static void cumSum(OnnxNode n) {
        Val x = n.act(0);
        long[] axis = n.requiredInts(1, "axis");
        n.length(axis, 1, "axis");
        int ax = n.axis(axis[0], x.rank(), "axis");
        n.put(0, n.emit(new CumSum(ax, flag(n, "exclusive", 0), flag(n, "reverse", 0)), List.of(x)));
    }

    private void topK(OnnxNode n) {
        Val x = n.act(0);
        long k;
        if (n.opset() < 10) {
            k = n.attrInt("k", -1);
            if (n.attr("k") == null) throw n.error("attribute 'k' is missing");
        } else {
            long[] ks = n.requiredInts(1, "K");
            n.length(ks, 1, "K");
            k = ks[0];
        }
        int ax = n.axis(n.attrInt("axis", -1), x.rank(), "axis");
        if (k < 1 || k > x.shape[0].dim(ax))
            throw n.error("K = " + k + " must be between 1 and the size of axis " + ax + " ("
                    + x.shape[0].dim(ax) + ")");
        List<Val> outs = cv.emit(n.hint(), new TopK(ax, (int) k, flag(n, "largest", 1), flag(n, "sorted", 1)),
                List.of(x));
        n.put(0, outs.get(0));
        n.put(1, outs.get(1));
    }
}

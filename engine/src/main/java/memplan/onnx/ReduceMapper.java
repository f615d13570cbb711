package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ops.ReduceMean;

import java.util.ArrayList;
import java.util.List;

/** Reductions: ReduceMean (axes an attribute before opset 18, an input from 18 on). */
final class ReduceMapper implements OpMapper {
    @Override
    public List<Signature> handles() {
        return List.of(Signature.of("ReduceMean", 1, 2));
    }

    @Override
    public void convert(OnnxNode n) {
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
}

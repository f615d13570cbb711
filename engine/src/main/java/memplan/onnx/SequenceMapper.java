package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ops.Embedding;
import memplan.ops.Slice;

import java.util.ArrayList;
import java.util.List;

/** Gather: rows of a constant table by computed indices (an Embedding), or one index of a tensor (a Slice). */
final class SequenceMapper implements OpMapper {
    private final Converter cv;

    SequenceMapper(Converter cv) {
        this.cv = cv;
    }

    @Override
    public List<Signature> handles() {
        return List.of(Signature.of("Gather", 2, 2));
    }

    @Override
    public void convert(OnnxNode n) {
        Val data = n.required(0, "data"), idx = n.required(1, "indices");
        if (data.isConst() && idx.isAct()) {
            int axis = n.axis(n.attrInt("axis", 0), data.c.shape.length, "axis");
            if (data.c.shape.length != 2 || axis != 0)
                throw new Unsupported("Gather (constant table of rank " + data.c.shape.length + ")", null);
            Embedding op = new Embedding(data.c.shape[0], data.c.shape[1]);
            n.put(0, n.emit(op, List.of(idx), new Converter.Weight("weight", data.c)));
            return;
        }
        if (data.isAct() && idx.isConst()) {
            int ax = n.axis(n.attrInt("axis", 0), data.rank(), "axis");
            long[] ix = n.ints(1, "indices");
            if (ix.length != 1) throw new Unsupported("Gather (several indices)", null);
            int dim = data.shape[0].dim(ax);
            if (data.shape[1].dim(ax) != dim) throw new Unsupported("Gather (batch axis)", null);
            long i = ix[0] < 0 ? ix[0] + dim : ix[0];
            if (i < 0 || i >= dim) throw n.error("the index " + ix[0] + " is out of range for a dimension of " + dim);
            Val y = cv.emit(n.hint(), new Slice(ax, (int) i, (int) i + 1), List.of(data)).get(0);
            if (idx.c.shape.length == 0) { // a scalar index drops the axis
                long[][] t = new long[Converter.LANES][];
                for (int lane = 0; lane < Converter.LANES; lane++) {
                    List<Long> d = new ArrayList<>();
                    for (int k = 0; k < y.rank(); k++) if (k != ax) d.add((long) y.shape[lane].dim(k));
                    t[lane] = d.stream().mapToLong(Long::longValue).toArray();
                }
                y = cv.reshapeTo(n.hint() + "/squeeze", y, t);
            }
            n.put(0, y);
            return;
        }
        throw new Unsupported("Gather (computed indices)", "both operands are computed tensors");
    }
}

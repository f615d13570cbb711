package memplan.backend.cpu;

import memplan.ir.Shape;
import memplan.ops.ScatterND;

/** ScatterND: a copy of data with the slices named by index tuples replaced or increased, tuples in order. */
final class ScatterKernels {
    private ScatterKernels() {
    }

    /** Offsets (in data elements) of the slices the index tuples name; negative indices count from the end. */
    static int[] offsets(String name, Shape data, Buf idx) {
        int k = (int) (idx.shape().dim(-1)), tuples = idx.numel() / Math.max(1, k);
        int[] out = new int[tuples];
        for (int j = 0; j < tuples; j++) {
            long off = 0;
            for (int t = 0; t < k; t++) {
                long v = idx.getIndex(j * k + t), d = data.dim(t);
                if (v < -d || v >= d)
                    throw new IllegalArgumentException("ScatterND '" + name + "': index " + v + " of tuple " + j
                            + " is outside axis " + t + " of " + d + " elements");
                off += (v < 0 ? v + d : v) * data.numel(t + 1, data.rank());
            }
            out[j] = (int) off;
        }
        return out;
    }

    /**
     * Forward: data copied, then each tuple's slice written (or added) in tuple order, parallel over the slice's
     * elements (each element sees the tuples in order, so the result does not depend on the threads). Backward:
     * data's gradient is g with the written slices zeroed (none) or g (add); updates' gradient is g at the slices.
     */
    static final class ScatterNDK implements CpuKernel {
        @Override
        public void forward(ForwardArgs a) {
            ScatterND op = (ScatterND) a.node().op();
            Buf x = a.in()[0], upd = a.in()[2], y = a.out()[0];
            int[] off = offsets(a.node().name(), x.shape(), a.in()[1]);
            if (!y.sameMemory(x)) System.arraycopy(x.data(), x.offset(), y.data(), y.offset(), x.numel());
            int slice = off.length == 0 ? 0 : upd.numel() / off.length;
            float[] yd = y.data(), ud = upd.data();
            int yo = y.offset(), uo = upd.offset();
            boolean add = op.add();
            Par.range(slice, Par.grain(slice, off.length), (s, e) -> {
                for (int j = 0; j < off.length; j++)
                    for (int i = s; i < e; i++) K.put(yd, yo + off[j] + i, ud[uo + j * slice + i], add);
            });
        }

        @Override
        public void backward(BackwardArgs a) {
            ScatterND op = (ScatterND) a.node().op();
            Buf gy = a.gradOut(0), gx = a.gradIn(0), gu = a.gradIn(2);
            Shape xs = a.node().inShapes().get(0);
            int[] off = offsets(a.node().name(), xs, a.need(a.in(), 1, "input"));
            int slice = off.length == 0 ? 0 : (int) (a.node().inShapes().get(2).numel() / off.length);
            // updates first: gx may alias gy
            if (!K.nothingToPropagate(gy, gu, a.accIn(2))) {
                boolean acc = a.accIn(2);
                for (int j = 0; j < off.length; j++)
                    for (int i = 0; i < slice; i++) K.put(gu.data(), gu.offset() + j * slice + i,
                            gy.get(off[j] + i), acc);
            }
            if (K.nothingToPropagate(gy, gx, a.accIn(0))) return;
            if (op.add() || off.length == 0) {
                K.copyGrad(gy, gx, a.accIn(0));
                return;
            }
            boolean[] written = new boolean[gx.numel()];
            for (int o : off) for (int i = 0; i < slice; i++) written[o + i] = true;
            boolean acc = a.accIn(0);
            float[] gd = gx.data();
            for (int i = 0; i < written.length; i++) K.put(gd, gx.offset() + i, written[i] ? 0f : gy.get(i), acc);
        }
    }
}

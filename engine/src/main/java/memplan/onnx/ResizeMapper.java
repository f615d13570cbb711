package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ops.Upsample;

import java.util.Arrays;
import java.util.List;

/** Resize and Upsample with an equal integer scale of height and width (nearest and linear alike). */
final class ResizeMapper implements OpMapper {
    @Override
    public List<Signature> handles() {
        return List.of(Signature.of("Resize", 1, 4), Signature.of("Upsample", 1, 2));
    }

    @Override
    public void convert(OnnxNode n) {
        Val x = n.act(0);
        if (x.rank() != 4) throw new Unsupported(n.type() + " (rank " + x.rank() + ")", null);
        double[] scales = null;
        Val.Const sc = null, sz = null;
        if (n.type().equals("Upsample")) {
            if (n.has(1)) sc = n.cst(1, "scales"); // opset 9
            else if (n.attr("scales") != null) scales = n.attrFloats("scales"); // opsets 7 and 8
            else if (n.attr("height_scale") != null || n.attr("width_scale") != null) // opset 1
                scales = new double[]{1, 1, n.attrFloat("height_scale", 1), n.attrFloat("width_scale", 1)};
        } else if (n.opset() < 11) sc = n.cst(1, "scales");
        else {
            sc = n.optCst(2, "scales");
            sz = n.optCst(3, "sizes");
        }
        if (sc != null && sc.numel() > 0) scales = n.values(sc, 0, "scales").v();
        else if (sz != null) {
            double[] s = n.values(sz, 0, "sizes").v();
            if (s.length != 4) throw new Unsupported(n.type() + " (sizes for some axes)", null);
            scales = new double[4];
            for (int i = 0; i < 4; i++) scales[i] = s[i] / x.shape[0].dim(i);
            scales[0] = 1;
        }
        if (scales == null || scales.length != 4) throw n.error("needs 4 scales or sizes");
        double f = scales[2];
        if (scales[0] != 1 || scales[1] != 1 || scales[3] != f || f < 1 || Math.abs(f - Math.rint(f)) > 1e-6)
            throw new Unsupported(n.type() + " (non-integer or unequal scale)", "scales " + Arrays.toString(scales)
                    + ": MemPlan models an equal integer scale of height and width");
        // nearest and (bi)linear modes have the same output and save nothing for backward: one op for both
        n.put(0, n.emit(new Upsample((int) Math.rint(f)), List.of(x)));
    }
}

package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ops.Resize;
import memplan.ops.Upsample;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Resize and Upsample over 1 to 3 spatial axes in every mode (nearest with each rounding, linear, cubic) and
 * coordinate transformation but tf_crop_and_resize, at any scale or size. An equal integer scale of height and width
 * in nearest mode that reads floor(o / scale), as PyTorch's nearest upsampling, stays the Upsample op; the rest
 * become Resize. The opset-7 to 10 forms (scales as attributes or a second input) map coordinates asymmetrically.
 */
final class ResizeMapper implements OpMapper {
    @Override
    public List<Signature> handles() {
        return List.of(Signature.of("Resize", 1, 4), Signature.of("Upsample", 1, 2));
    }

    @Override
    public void convert(OnnxNode n) {
        Val x = n.act(0);
        int r = x.rank();
        if (r < 3 || r > 5) throw new Unsupported(n.type() + " (rank " + r + ")", "only inputs [N, C, ...] with 1 to "
                + "3 spatial axes are supported");
        double[] scales = null;
        long[] sizes = null;
        boolean old = n.type().equals("Upsample") || n.opset() < 11;
        if (n.type().equals("Upsample")) {
            if (n.has(1)) scales = n.values(n.cst(1, "scales"), 0, "scales").v(); // opset 9
            else if (n.attr("scales") != null) scales = n.attrFloats("scales"); // opsets 7 and 8
            else if (n.attr("height_scale") != null || n.attr("width_scale") != null) // opset 1
                scales = new double[]{1, 1, n.attrFloat("height_scale", 1), n.attrFloat("width_scale", 1)};
        } else if (n.opset() < 11) scales = n.values(n.cst(1, "scales"), 0, "scales").v();
        else {
            Val.Const sc = n.optCst(2, "scales"), sz = n.optCst(3, "sizes");
            if (sc != null && sc.numel() > 0) scales = n.values(sc, 0, "scales").v();
            else if (sz != null && sz.numel() > 0) sizes = sizes(n, sz);
        }
        long[] axes = n.attrInts("axes"); // opset 18: scales or sizes for these axes only
        if (axes != null) {
            double[] full = new double[r];
            long[] fullSizes = new long[r];
            Arrays.fill(full, 1);
            for (int i = 0; i < r; i++) fullSizes[i] = x.shape[0].dim(i);
            int given = scales != null ? scales.length : sizes != null ? sizes.length : -1;
            if (given != axes.length) throw n.error("needs one scale or size per axis of 'axes' (" + axes.length
                    + "), got " + given);
            for (int i = 0; i < axes.length; i++) {
                int ax = n.axis(axes[i], r, "axis");
                if (scales != null) full[ax] = scales[i];
                else fullSizes[ax] = sizes[i];
            }
            if (scales != null) scales = full;
            else sizes = fullSizes;
        }
        if (scales == null && sizes == null) throw n.error("needs scales or sizes");
        if (scales != null && scales.length != r || sizes != null && sizes.length != r)
            throw n.error("needs " + r + " scales or sizes for an input of rank " + r + ", got "
                    + (scales != null ? scales.length : sizes.length));
        if (scales != null && (scales[0] != 1 || scales[1] != 1)
                || sizes != null && sizes[1] != x.shape[0].dim(1))
            throw new Unsupported(n.type() + " (of the batch or channel axis)", "only the spatial axes can be "
                    + "resized");
        if (sizes != null && !"stretch".equals(n.attrString("keep_aspect_ratio_policy", "stretch")))
            throw new Unsupported(n.type() + " (keep_aspect_ratio_policy)", null);
        Resize op = resize(n, x, old, scales, sizes);
        n.put(0, n.emit(upsample(op, x) ? new Upsample(op.sizes().get(0) / x.shape[0].dim(2)) : op, List.of(x)));
    }

    /** The spatial output sizes, which must not depend on the batch; the batch entry is not read. */
    private static long[] sizes(OnnxNode n, Val.Const sz) {
        long[] a = n.values(sz, 0, "sizes").longs(), b = n.values(sz, 1, "sizes").longs();
        for (int i = 1; i < a.length; i++)
            if (a[i] != b[i]) throw n.error("the output size of axis " + i + " depends on the batch size, which "
                    + "MemPlan cannot express here");
        return a;
    }

    private static Resize resize(OnnxNode n, Val x, boolean old, double[] scales, long[] sizes) {
        int r = x.rank();
        String mode = n.attrString("mode", "nearest").toLowerCase();
        if (mode.equals("bilinear") || mode.equals("trilinear")) mode = "linear"; // Upsample's older names
        if (!Resize.MODES.contains(mode)) throw n.error("mode must be nearest, linear or cubic, got '" + mode + "'");
        String co = old ? "asymmetric" : n.attrString("coordinate_transformation_mode", "half_pixel");
        if (co.equals("tf_crop_and_resize"))
            throw new Unsupported(n.type() + " (tf_crop_and_resize)", "the crop-and-resize coordinate "
                    + "transformation is not supported");
        if (!Resize.COORDINATES.contains(co)) throw n.error("unknown coordinate_transformation_mode '" + co + "'");
        String near = old ? "floor" : n.attrString("nearest_mode", "round_prefer_floor");
        if (!Resize.ROUNDINGS.contains(near)) throw n.error("unknown nearest_mode '" + near + "'");
        List<Integer> out = new ArrayList<>();
        List<Double> sc = new ArrayList<>();
        for (int i = 2; i < r; i++) {
            int in = x.shape[0].dim(i);
            if (scales != null) {
                if (!(scales[i] > 0) || Double.isInfinite(scales[i]))
                    throw n.error("scales must be positive, got " + Arrays.toString(scales));
                double o = Math.floor(in * scales[i]);
                if (o < 1)
                    throw n.error("scale " + scales[i] + " leaves no output of axis " + i + " (size " + in + ")");
                if (o > Integer.MAX_VALUE) throw n.error("scale " + scales[i] + " makes axis " + i + " too large");
                out.add((int) o);
                sc.add(scales[i]);
            } else {
                if (sizes[i] < 1 || sizes[i] > Integer.MAX_VALUE)
                    throw n.error("the output size of axis " + i + " must be positive, got " + sizes[i]);
                out.add((int) sizes[i]);
            }
        }
        return new Resize(out, sc, mode, co, near, n.attrFloat("cubic_coeff_a", -0.75),
                n.attrInt("exclude_outside", 0) != 0);
    }

    /**
     * Whether a Resize is the Upsample op: rank 4, nearest, one integer scale of height and width (given, or the size
     * ratio), and each output coordinate o reads input floor(o / scale).
     */
    private static boolean upsample(Resize op, Val x) {
        if (x.rank() != 4 || !op.mode().equals("nearest")) return false;
        int h = x.shape[0].dim(2), w = x.shape[0].dim(3);
        if (op.sizes().get(0) % h != 0 || op.sizes().get(0) / h != op.sizes().get(1) / w
                || op.sizes().get(1) % w != 0) return false;
        int f = op.sizes().get(0) / h;
        if (!op.scales().isEmpty() && (op.scales().get(0) != f || op.scales().get(1) != f)) return false;
        for (int axis = 0; axis < 2; axis++) {
            int in = axis == 0 ? h : w;
            int[] idx = op.taps(axis, in).idx();
            for (int o = 0; o < idx.length; o++) if (idx[o] != o / f) return false;
        }
        return true;
    }
}

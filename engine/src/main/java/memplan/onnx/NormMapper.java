package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ops.BatchNorm2d;
import memplan.ops.GroupNorm;
import memplan.ops.LayerNorm;
import memplan.ops.Reshape;

import java.util.ArrayList;
import java.util.List;

/**
 * Normalisation: BatchNormalization (of any rank 2 to 5), InstanceNormalization (as GroupNorm) and
 * LayerNormalization, their scale and bias as parameters.
 */
final class NormMapper implements OpMapper {
    private final Converter cv;

    NormMapper(Converter cv) {
        this.cv = cv;
    }

    @Override
    public List<Signature> handles() {
        return List.of(new Signature("BatchNormalization", 5, 5, 1), Signature.of("LayerNormalization", 2, 3),
                Signature.of("InstanceNormalization", 3, 3));
    }

    @Override
    public void convert(OnnxNode n) {
        switch (n.type()) {
            case "BatchNormalization" -> batchNorm(n);
            case "InstanceNormalization" -> instanceNorm(n);
            default -> layerNorm(n);
        }
    }

    private static double epsilon(OnnxNode n) {
        double eps = n.attrFloat("epsilon", 1e-5);
        if (!(eps >= 0)) throw n.error("epsilon must not be negative, got " + eps);
        return eps;
    }

    private void batchNorm(OnnxNode n) {
        Val x = n.act(0);
        Val.Const scale = n.cst(1, "scale"), bias = n.cst(2, "bias");
        n.cst(3, "running mean");
        n.cst(4, "running variance");
        if (x.rank() < 2 || x.rank() > 5)
            throw new Unsupported("BatchNormalization (rank " + x.rank() + ")", "only [N, C], [N, C, L], "
                    + "[N, C, H, W] and [N, C, D, H, W] input is supported");
        double m = n.attrFloat("momentum", 0.9);
        BatchNorm2d op = new BatchNorm2d(epsilon(n), Math.round((1 - m) * 1e6) / 1e6);
        var weights = new Converter.Weight[]{new Converter.Weight("weight", scale), new Converter.Weight("bias", bias)};
        if (x.rank() == 4) {
            n.put(0, n.emit(op, List.of(x), weights));
            return;
        }
        // the statistics are per channel over everything else, so [N, C, ...] as the view [N, C, S, 1] gives the
        // same numbers and the same saved tensors (PyTorch's native_batch_norm is rank-generic)
        Val v = cv.emit(n.hint() + "/as2d", new Reshape(List.of(0, 0, -1, 1)), List.of(x)).get(0);
        Val y = cv.emit(n.hint(), op, List.of(v), weights).get(0);
        List<Integer> back = new ArrayList<>(List.of(0, 0));
        for (int i = 2; i < x.rank(); i++) back.add(i == x.rank() - 1 ? -1 : x.shape[0].dim(i));
        n.put(0, cv.emit(n.hint() + "/view", new Reshape(back), List.of(y)).get(0));
    }

    /**
     * InstanceNormalization as a GroupNorm with one group per channel (PyTorch runs instance_norm as a batch norm of
     * [1, N C, ...], which saves the same input and per-(image, channel) statistics, and a repeated weight of N C).
     * Scale and shift that are not initializers (a fixed 1 and 0) leave it without parameters.
     */
    private static void instanceNorm(OnnxNode n) {
        Val x = n.act(0);
        if (x.rank() < 3) throw n.error("the input must be [N, C, ...] with a spatial axis, got rank " + x.rank());
        Val.Const scale = n.cst(1, "scale"), bias = n.cst(2, "bias");
        int c = x.shape[0].dim(1);
        if (scale.numel() != c || bias.numel() != c)
            throw n.error("scale and bias must have " + c + " values (one per channel), got " + scale.numel()
                    + " and " + bias.numel());
        boolean affine = scale.initializer != null && bias.initializer != null;
        GroupNorm op = new GroupNorm(c, epsilon(n), affine);
        n.put(0, n.emit(op, List.of(x), new Converter.Weight("weight", affine ? scale : null),
                new Converter.Weight("bias", affine ? bias : null)));
    }

    private static void layerNorm(OnnxNode n) {
        Val x = n.act(0);
        Val.Const scale = n.cst(1, "scale");
        Val.Const bias = n.optCst(2, "bias");
        int axis = n.axis(n.attrInt("axis", -1), x.rank(), "axis");
        if (axis != x.rank() - 1)
            throw new Unsupported("LayerNormalization (several axes)", "normalising from axis " + axis + " of rank "
                    + x.rank());
        n.put(0, n.emit(new LayerNorm(epsilon(n)), List.of(x), new Converter.Weight("weight", scale),
                new Converter.Weight("bias", bias)));
    }
}

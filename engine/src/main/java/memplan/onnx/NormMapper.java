package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.ops.BatchNorm2d;
import memplan.ops.LayerNorm;

import java.util.List;

/** Normalisation: BatchNormalization and LayerNormalization, their scale and bias as parameters. */
final class NormMapper implements OpMapper {
    @Override
    public List<Signature> handles() {
        return List.of(new Signature("BatchNormalization", 5, 5, 1), Signature.of("LayerNormalization", 2, 3));
    }

    @Override
    public void convert(OnnxNode n) {
        if (n.type().equals("BatchNormalization")) batchNorm(n);
        else layerNorm(n);
    }

    private static double epsilon(OnnxNode n) {
        double eps = n.attrFloat("epsilon", 1e-5);
        if (!(eps >= 0)) throw n.error("epsilon must not be negative, got " + eps);
        return eps;
    }

    private static void batchNorm(OnnxNode n) {
        Val x = n.act(0);
        Val.Const scale = n.cst(1, "scale"), bias = n.cst(2, "bias");
        n.cst(3, "running mean");
        n.cst(4, "running variance");
        if (x.rank() != 4)
            throw new Unsupported("BatchNormalization (rank " + x.rank() + ")", "only [N, C, H, W] input is supported");
        double m = n.attrFloat("momentum", 0.9);
        BatchNorm2d op = new BatchNorm2d(epsilon(n), Math.round((1 - m) * 1e6) / 1e6);
        n.put(0, n.emit(op, List.of(x), new Converter.Weight("weight", scale), new Converter.Weight("bias", bias)));
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

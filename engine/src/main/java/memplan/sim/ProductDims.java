package memplan.sim;

import memplan.graph.Node;
import memplan.ir.Shape;
import memplan.ops.Attention;
import memplan.ops.Conv2d;
import memplan.ops.Linear;
import memplan.ops.MatMul;

/**
 * The matrix product an op runs, as the CPU backend runs it: {@code count} products of [m, k] x [k, n]. A
 * convolution is its im2col product over the whole batch (out channels x batch·output pixels x in channels·kernel);
 * attention is its scores product per batch and head. Ops whose products the backend splits otherwise (recurrent
 * cells, 3-D and transposed convolutions) stand as one cube-shaped product of their FLOPs.
 */
public record ProductDims(double m, double n, double k, double count) {

    public ProductDims {
        if (!(m >= 1 && n >= 1 && k >= 1 && count >= 1) || Double.isInfinite(m * n * k * count))
            throw new IllegalArgumentException("product dimensions must be at least 1, got " + m + " x " + n + " x "
                    + k + " x " + count);
    }

    /** The product of a node's forward pass (its backward runs products of the same three sizes). */
    public static ProductDims of(Node node) {
        Shape in = node.inShapes().isEmpty() ? null : node.inShapes().get(0);
        Shape out = node.outShapes().get(0);
        if (node.op() instanceof Linear && in != null && in.rank() >= 1) {
            double k = in.dim(in.rank() - 1);
            return clamp(in.numel() / Math.max(1, k), out.dim(out.rank() - 1), k, 1);
        }
        if (node.op() instanceof MatMul && in != null && in.rank() >= 2 && out.rank() >= 2) {
            double m = out.dim(out.rank() - 2), n = out.dim(out.rank() - 1), k = in.dim(in.rank() - 1);
            return clamp(m, n, k, out.numel() / Math.max(1, m * n));
        }
        if (node.op() instanceof Conv2d c && in != null && in.rank() == 4) {
            double g = c.groups();
            return clamp(out.dim(1) / g, (double) out.dim(0) * out.dim(2) * out.dim(3),
                    in.dim(1) / g * c.kernel().h() * c.kernel().w(), g);
        }
        if (node.op() instanceof Attention a && node.inShapes().size() == 3 && in.rank() == 3) {
            Shape key = node.inShapes().get(1);
            return clamp(in.dim(1), key.dim(1), (double) in.dim(2) / a.heads(), (double) in.dim(0) * a.heads());
        }
        return cube(node.flops());
    }

    /** One cube-shaped product of {@code flops} (a multiply-add counts 2). */
    public static ProductDims cube(double flops) {
        double side = Math.cbrt(Math.max(2, flops) / 2);
        return clamp(side, side, side, 1);
    }

    private static ProductDims clamp(double m, double n, double k, double count) {
        return new ProductDims(Math.max(1, m), Math.max(1, n), Math.max(1, k), Math.max(1, count));
    }

    /** Squared distance on log scales: how alike two products are for a CPU (sizes matter by ratio). */
    public double distanceSquared(ProductDims o) {
        double dm = Math.log(m / o.m), dn = Math.log(n / o.n), dk = Math.log(k / o.k), dc = Math.log(count / o.count);
        return dm * dm + dn * dn + dk * dk + dc * dc;
    }
}

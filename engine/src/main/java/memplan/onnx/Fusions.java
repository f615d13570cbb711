package memplan.onnx;

import memplan.onnx.proto.Onnx.NodeProto;
import memplan.ops.GELU;
import memplan.ops.GroupNorm;
import memplan.ops.LayerNorm;
import memplan.ops.Mish;
import memplan.ops.SiLU;

import java.util.ArrayList;
import java.util.List;

/**
 * Exporters' decompositions of ops that frameworks keep whole, found by their node pattern and converted back to
 * the one op (GELU, LayerNorm, Mish, SiLU, GroupNorm), as in the framework the model came from: the memory of the
 * pieces differs. A pattern matches only where every intermediate tensor has the one reader the pattern expects.
 */
final class Fusions {
    private final Converter cv;

    Fusions(Converter cv) {
        this.cv = cv;
    }

    /** Converts the pattern starting at node n, if there is one; false leaves n to its mapper. */
    boolean tryFuse(OnnxNode n) {
        return switch (n.type()) {
            case "Div", "Mul" -> gelu(n);
            case "ReduceMean" -> layerNorm(n);
            case "Softplus" -> mish(n);
            case "Sigmoid" -> silu(n);
            case "Reshape" -> groupNorm(n);
            default -> false;
        };
    }

    private static boolean near(Double v, double target) {
        return v != null && Math.abs(v - target) < 1e-3 * Math.max(1, Math.abs(target));
    }

    /** The other input of a two-input node, by name, given one of them. */
    private static String other(NodeProto node, String tensor) {
        if (node.getInputCount() != 2) return null;
        if (node.getInput(0).equals(tensor)) return node.getInput(1);
        if (node.getInput(1).equals(tensor)) return node.getInput(0);
        return null;
    }

    private static String out(NodeProto n) {
        return n.getOutputCount() == 0 ? "" : n.getOutput(0);
    }

    /**
     * GELU as exported before opset 20: Div(x, sqrt 2) (or Mul(x, 1/sqrt 2)) -> Erf -> Add 1 -> Mul x -> Mul 0.5
     * (the last two in either order).
     */
    private boolean gelu(OnnxNode node) {
        NodeProto n = node.proto;
        if (n.getInputCount() != 2 || out(n).isEmpty()) return false;
        Val x = cv.vals.get(n.getInput(0));
        if (x == null || !x.isAct()) return false;
        Double c = cv.constScalar(n.getInput(1));
        if (!(n.getOpType().equals("Div") ? near(c, Math.sqrt(2)) : near(c, Math.sqrt(0.5)))) return false;
        NodeProto erf = cv.soleConsumer(out(n), "Erf");
        if (erf == null) return false;
        NodeProto add = cv.soleConsumer(out(erf), "Add");
        if (add == null || !near(cv.constScalar(other(add, out(erf))), 1)) return false;
        NodeProto m1 = cv.soleConsumer(out(add), "Mul");
        if (m1 == null) return false;
        String o1 = other(m1, out(add));
        NodeProto m2 = cv.soleConsumer(out(m1), "Mul");
        if (m2 == null || o1 == null) return false;
        String o2 = other(m2, out(m1));
        boolean ok = o1.equals(n.getInput(0)) && near(cv.constScalar(o2), 0.5)
                || near(cv.constScalar(o1), 0.5) && n.getInput(0).equals(o2);
        if (!ok) return false;
        Val y = node.emit(new GELU(), List.of(x));
        cv.skip.addAll(List.of(erf, add, m1, m2));
        new OnnxNode(cv, m2).put(0, y);
        return true;
    }

    /** SiLU as PyTorch exports it: Sigmoid(x) -> Mul with x (either operand order). */
    private boolean silu(OnnxNode node) {
        NodeProto n = node.proto;
        if (n.getInputCount() != 1 || out(n).isEmpty()) return false;
        Val x = cv.vals.get(n.getInput(0));
        if (x == null || !x.isAct()) return false;
        NodeProto mul = cv.soleConsumer(out(n), "Mul");
        if (mul == null || !n.getInput(0).equals(other(mul, out(n)))) return false;
        Val y = node.emit(new SiLU(), List.of(x));
        cv.skip.add(mul);
        new OnnxNode(cv, mul).put(0, y);
        return true;
    }

    /** Mish as exported before opset 18: Softplus(x) -> Tanh -> Mul with x (either operand order). */
    private boolean mish(OnnxNode node) {
        NodeProto n = node.proto;
        if (n.getInputCount() != 1 || out(n).isEmpty()) return false;
        Val x = cv.vals.get(n.getInput(0));
        if (x == null || !x.isAct()) return false;
        NodeProto tanh = cv.soleConsumer(out(n), "Tanh");
        if (tanh == null) return false;
        NodeProto mul = cv.soleConsumer(out(tanh), "Mul");
        if (mul == null || !n.getInput(0).equals(other(mul, out(tanh)))) return false;
        Val y = node.emit(new Mish(), List.of(x));
        cv.skip.addAll(List.of(tanh, mul));
        new OnnxNode(cv, mul).put(0, y);
        return true;
    }

    private long[] reduceAxes(OnnxNode r) {
        if (cv.opset < 18) return r.attrInts("axes");
        if (r.proto.getInputCount() < 2) return null;
        Val v = cv.vals.get(r.inputName(1));
        if (v == null || !v.isConst() || v.c.lane(0) == null) return null;
        return v.c.lane(0).longs();
    }

    private boolean lastAxisOnly(NodeProto node, int rank) {
        OnnxNode r = new OnnxNode(cv, node);
        long[] a = reduceAxes(r);
        return a != null && a.length == 1 && (a[0] == -1 || a[0] == rank - 1) && r.attrInt("keepdims", 1) != 0;
    }

    /**
     * LayerNorm as exported before opset 17: mean = ReduceMean(x); d = x - mean; var = ReduceMean(d^2);
     * y = d / Sqrt(var + eps) * gamma + beta (over the last axis). Becomes one LayerNorm with gamma and beta as its
     * weight and bias; without both the pieces are converted one by one.
     */
    private boolean layerNorm(OnnxNode node) {
        NodeProto r1 = node.proto;
        if (r1.getInputCount() == 0 || out(r1).isEmpty()) return false;
        Val x = cv.vals.get(r1.getInput(0));
        if (x == null || !x.isAct() || !lastAxisOnly(r1, x.rank())) return false;
        NodeProto sub = cv.soleConsumer(out(r1), "Sub");
        if (sub == null || sub.getInputCount() != 2 || !sub.getInput(0).equals(r1.getInput(0))
                || !sub.getInput(1).equals(out(r1))) return false;
        String d = out(sub);
        List<NodeProto> dc = cv.consumersOf(d);
        if (dc.size() != 2 || cv.isGraphOutput(d)) return false;
        NodeProto sq = null, div = null;
        for (NodeProto c : dc) {
            if (c.getInputCount() != 2) continue;
            boolean squares = near(cv.constScalar(c.getInput(1)), 2);
            if (c.getOpType().equals("Pow") && c.getInput(0).equals(d) && squares) sq = c;
            else if (c.getOpType().equals("Mul") && c.getInput(0).equals(d) && c.getInput(1).equals(d)) sq = c;
            else if (c.getOpType().equals("Div") && c.getInput(0).equals(d)) div = c;
        }
        if (sq == null || div == null) return false;
        NodeProto r2 = cv.soleConsumer(out(sq), "ReduceMean");
        if (r2 == null || !lastAxisOnly(r2, x.rank())) return false;
        NodeProto addEps = cv.soleConsumer(out(r2), "Add");
        if (addEps == null) return false;
        Double eps = cv.constScalar(other(addEps, out(r2)));
        NodeProto sqrt = cv.soleConsumer(out(addEps), "Sqrt");
        if (eps == null || sqrt == null || !div.getInput(1).equals(out(sqrt))) return false;
        NodeProto mul = cv.soleConsumer(out(div), "Mul");
        if (mul == null) return false;
        Val gamma = cv.vals.get(other(mul, out(div)));
        NodeProto add = cv.soleConsumer(out(mul), "Add");
        if (add == null) return false;
        Val beta = cv.vals.get(other(add, out(mul)));
        int dim = x.shape[0].dim(-1);
        if (gamma == null || beta == null || !gamma.isConst() || !beta.isConst() || gamma.c.numel() != dim
                || beta.c.numel() != dim) return false;
        Val y = node.emit(new LayerNorm(OnnxNode.shortest(eps)), List.of(x),
                new Converter.Weight("weight", gamma.c), new Converter.Weight("bias", beta.c));
        cv.skip.addAll(List.of(sub, sq, r2, addEps, sqrt, div, mul, add));
        new OnnxNode(cv, add).put(0, y);
        return true;
    }

    /** Whether every value of a small constant is v. */
    private static boolean all(Val v, int numel, double target) {
        if (v == null || !v.isConst() || v.c.numel() != numel || v.c.lane(0) == null) return false;
        for (double d : v.c.lane(0).v()) if (d != target) return false;
        return true;
    }

    /**
     * The initializer behind a weight operand: the tensor's constant, or one seen through the Unsqueeze, Reshape or
     * Identity nodes an exporter puts between an initializer and its use (not converted yet at this point).
     */
    private Val.Const weightBehindViews(String tensor) {
        for (int hops = 0; tensor != null && hops < 4; hops++) {
            Val v = cv.vals.get(tensor);
            if (v != null) return v.isConst() ? v.c : null;
            NodeProto p = cv.producerOf(tensor);
            if (p == null || !List.of("Unsqueeze", "Reshape", "Identity").contains(p.getOpType())) return null;
            tensor = p.getInput(0);
        }
        return null;
    }

    /** Whether a tensor is Shape(x) of the named tensor x, or a constant equal to x's shape in every lane. */
    private boolean isShapeOf(String tensor, String x, Val xv) {
        NodeProto p = cv.producerOf(tensor);
        if (p != null && p.getOpType().equals("Shape") && p.getInput(0).equals(x) && p.getAttributeCount() == 0)
            return true;
        Val v = cv.vals.get(tensor);
        if (v == null || !v.isConst()) return false;
        for (int lane = 0; lane < Converter.LANES; lane++) {
            if (v.c.lane(lane) == null) return false;
            long[] t = v.c.lane(lane).longs();
            int[] d = xv.shape[lane].dims();
            if (t.length != d.length) return false;
            for (int i = 0; i < d.length; i++) if (t[i] != d[i]) return false;
        }
        return true;
    }

    /**
     * GroupNorm as PyTorch 1.13 exports nn.GroupNorm: Reshape(x, [0, G, -1]) -> InstanceNormalization (scale 1 and
     * shift 0 per group) -> Reshape(Shape(x)) -> Mul(weight [C, 1, ...]) -> Add(bias). One GroupNorm op with the
     * weight and bias; without the Mul and Add of initializers, a GroupNorm without parameters.
     */
    private boolean groupNorm(OnnxNode node) {
        NodeProto r = node.proto;
        if (r.getInputCount() != 2 || out(r).isEmpty()) return false;
        Val x = cv.vals.get(r.getInput(0)), target = cv.vals.get(r.getInput(1));
        if (x == null || !x.isAct() || x.rank() < 3 || target == null || !target.isConst()
                || target.c.numel() != 3 || target.c.lane(0) == null) return false;
        long[] t = target.c.lane(0).longs();
        int c = x.shape[0].dim(1);
        if (t[0] != 0 || t[1] <= 0 || t[1] > c || c % t[1] != 0 || t[2] != -1) return false;
        int groups = (int) t[1];
        NodeProto in = cv.soleConsumer(out(r), "InstanceNormalization");
        if (in == null || in.getInputCount() != 3) return false;
        if (!all(cv.vals.get(in.getInput(1)), groups, 1) || !all(cv.vals.get(in.getInput(2)), groups, 0)) return false;
        NodeProto back = cv.soleConsumer(out(in), "Reshape");
        if (back == null || back.getInputCount() != 2 || !isShapeOf(back.getInput(1), r.getInput(0), x)) return false;
        double eps = new OnnxNode(cv, in).attrFloat("epsilon", 1e-5);
        List<NodeProto> used = new ArrayList<>(List.of(in, back));
        NodeProto last = back;
        Val.Const w = null, b = null;
        NodeProto mul = cv.soleConsumer(out(back), "Mul");
        NodeProto add = mul == null ? null : cv.soleConsumer(out(mul), "Add");
        if (add != null) {
            w = weightBehindViews(other(mul, out(back)));
            b = weightBehindViews(other(add, out(mul)));
            boolean affine = w != null && b != null && w.initializer != null && b.initializer != null
                    && w.numel() == c && b.numel() == c;
            if (affine) {
                used.addAll(List.of(mul, add));
                last = add;
            } else {
                w = null;
                b = null;
            }
        }
        Val y = node.emit(new GroupNorm(groups, OnnxNode.shortest(eps), w != null), List.of(x),
                new Converter.Weight("weight", w), new Converter.Weight("bias", b));
        cv.skip.addAll(used);
        new OnnxNode(cv, last).put(0, y);
        return true;
    }
}

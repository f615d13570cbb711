package memplan.cuda;

import memplan.backend.BackendException;
import memplan.backend.Bindings;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.Cast;
import memplan.ops.Compare;
import memplan.ops.ConstElementwise;
import memplan.ops.Dropout;
import memplan.ops.MaskedFill;

import java.util.List;

import static memplan.cuda.CudaOps.accIn;
import static memplan.cuda.CudaOps.accParam;
import static memplan.cuda.CudaOps.aux;
import static memplan.cuda.CudaOps.flag;
import static memplan.cuda.CudaOps.gradParam;
import static memplan.cuda.CudaOps.join;
import static memplan.cuda.CudaOps.need;
import static memplan.cuda.CudaOps.param;
import static memplan.cuda.Kernels.*;

/**
 * The elementwise ops on the GPU (elementwise.cu, binary.cu): one-input activations, Cast, Dropout, and the
 * two-operand ops with broadcasting (Add, Mul, Sub, Div, Pow, ConstElementwise, MaskedFill). Equal-shape Add and
 * Mul keep their plain kernels; every other shape goes through the broadcasting kernels, whose operand gradients
 * sum over broadcast positions in a fixed order (no atomics), so runs repeat bit for bit. Like the CPU kernels, a
 * gradient that may share memory with the output gradient is written last.
 */
final class CudaPointwiseOps {
    /** Function codes of binary.cu (BIN_*). */
    static final int ADD = 0, SUB = 1, MUL = 2, DIV = 3, POW = 4, POW_RECOVER = 5, MOD = 6, FMOD = 7;

    private final KernelHost be;

    CudaPointwiseOps(KernelHost be) {
        this.be = be;
    }

    private Object p(long offset) {
        return be.dev(offset);
    }

    /** dst (+)= src over n floats; nothing when dst is src and not accumulating. */
    void copyAcc(long src, long dst, long n, boolean acc) {
        if (dst < 0) return;
        if (src == dst && !acc) return;
        be.elementwise(COPY_ACC, n, p(src), p(dst), n, flag(acc));
    }

    // ------------------------------------------------------------------ one input

    /** y = f(x): kernel(x, y, n, extra...). */
    void unary(Spec k, Node node, Bindings b, Object... extra) {
        long n = node.inShapes().get(0).numel();
        be.elementwise(k, n, join(new Object[]{p(b.in()[0]), p(b.out()[0]), n}, extra));
    }

    /** gx (+)= gy f'(saved): kernel(saved, gy, gx, n, extra..., acc); saved is the input or the output. */
    void unaryBwd(Spec k, Node node, Bindings b, long saved, Object... extra) {
        if (b.gradIn()[0] < 0) return;
        long n = node.inShapes().get(0).numel();
        Object[] head = {p(need(saved, node, "the saved tensor")), p(b.gradOut()[0]), p(b.gradIn()[0]), n};
        be.elementwise(k, n, join(join(head, extra), flag(accIn(b, 0))));
    }

    /** The dtype codes of common.cuh (DT_*). */
    static int dtypeCode(DType t) {
        return switch (t) {
            case FP32 -> 0;
            case INT32 -> 1;
            case INT64 -> 2;
            case BOOL, UINT8 -> 3;
            case FP16, BF16 -> 4;
        };
    }

    private static boolean floatTarget(Cast c) {
        return c.to() == null || c.to().floating;
    }

    void castFwd(Graph g, Node node, Cast c, Bindings b) {
        DType from = g.value(node.inputs()[0]).dtype();
        DType to = c.to() == null ? DType.FP32 : c.to();
        if (from == DType.FP16 || from == DType.BF16 || to == DType.FP16 || to == DType.BF16)
            throw new BackendException(node.name() + " (Cast): the CUDA backend computes in fp32 and stores no " + from
                    + " to " + to + " cast");
        long n = node.inShapes().get(0).numel();
        if (from == DType.FP32 && to == DType.FP32) copyAcc(b.in()[0], b.out()[0], n, false);
        else be.elementwise(CAST, n, p(b.in()[0]), p(b.out()[0]), n, dtypeCode(from), dtypeCode(to));
    }

    /** The gradient passes through a float-to-float cast; none flows into integer inputs or out of integer results. */
    void castBwd(Graph g, Node node, Cast c, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0 || !floatTarget(c) || !g.value(node.inputs()[0]).dtype().floating) return;
        copyAcc(b.gradOut()[0], gx, node.inShapes().get(0).numel(), accIn(b, 0));
    }

    void dropoutFwd(Node node, Dropout d, Bindings b, boolean training, long seed) {
        long n = node.inShapes().get(0).numel();
        if (!training || d.p() == 0) {   // identity; the mask (if bound) is all ones, as on the CPU backend
            copyAcc(b.in()[0], b.out()[0], n, false);
            if (aux(b, 0) >= 0) be.memsetBytes(aux(b, 0), (byte) 1, n);
            return;
        }
        float scale = (float) (1.0 / (1.0 - d.p()));
        long threshold = (long) Math.ceil(d.p() * (1 << 24));   // keep when the 24-bit draw >= p * 2^24
        be.elementwise(DROPOUT_FWD, n, p(b.in()[0]), p(b.out()[0]), p(need(aux(b, 0), node, "aux mask")), n, threshold,
                scale, seed, node.index());
    }

    void dropoutBwd(Node node, Dropout d, Bindings b) {
        if (b.gradIn()[0] < 0) return;
        long n = node.inShapes().get(0).numel();
        be.elementwise(DROPOUT_BWD, n, p(need(aux(b, 0), node, "aux mask")), p(b.gradOut()[0]), p(b.gradIn()[0]), n,
                (float) (1.0 / (1.0 - d.p())), flag(accIn(b, 0)));
    }

    // ------------------------------------------------------------------ two operands

    private static boolean sameShapes(Node node) {
        return node.inShapes().get(0).equals(node.inShapes().get(1));
    }

    private static String what(Node node) {
        return node.name() + " (" + node.op().type() + ")";
    }

    /** Add and Mul: the plain kernels for equal shapes, the broadcasting ones otherwise. */
    void addOrMulFwd(Spec same, int f, Node node, Bindings b) {
        if (!sameShapes(node)) {
            binaryFwd(f, node, b);
            return;
        }
        long n = node.outShapes().get(0).numel();
        be.elementwise(same, n, p(b.in()[0]), p(b.in()[1]), p(b.out()[0]), n);
    }

    void addBwd(Node node, Bindings b) {
        if (!sameShapes(node)) {
            binaryBwd(ADD, node, b);
            return;
        }
        long n = node.outShapes().get(0).numel(), gy = b.gradOut()[0];
        int first = b.gradIn()[0] == gy ? 1 : 0;   // write the gradient that does not share gy's memory first
        copyAcc(gy, b.gradIn()[first], n, accIn(b, first));
        copyAcc(gy, b.gradIn()[1 - first], n, accIn(b, 1 - first));
    }

    void mulBwd(Node node, Bindings b) {
        if (!sameShapes(node)) {
            binaryBwd(MUL, node, b);
            return;
        }
        long n = node.outShapes().get(0).numel(), gy = b.gradOut()[0];
        int first = b.gradIn()[0] == gy ? 1 : 0;
        for (int i : new int[]{first, 1 - first}) {
            long gi = b.gradIn()[i];
            if (gi < 0) continue;
            long other = need(b.in()[1 - i], node, "input " + (1 - i));
            be.elementwise(MUL_BWD, n, p(other), p(gy), p(gi), n, flag(accIn(b, i)));
        }
    }

    /** y = a f b with broadcasting (Sub, Div, Pow; Add and Mul of unequal shapes). */
    void binaryFwd(int f, Node node, Bindings b) {
        Shape ys = node.outShapes().get(0);
        Strided6 s = Strided6.of(what(node), ys, node.inShapes());
        be.elementwise(BCAST_FWD, ys.numel(), join(new Object[]{p(b.in()[0]), p(b.in()[1]), p(b.out()[0]), ys.numel(),
                f,
                0f, 0f}, s.args(0, 1)));
    }

    /** Both operand gradients; reads a, b and y only where the derivative needs them, as the CPU kernels. */
    void binaryBwd(int f, Node node, Bindings b) {
        Shape ys = node.outShapes().get(0);
        Strided6 s = Strided6.of(what(node), ys, node.inShapes());
        long gy = b.gradOut()[0], x0 = -1, x1 = -1, y = -1;
        if (f == MUL || f == DIV) {   // Mul: da reads b, db reads a; Div: da reads b, db reads a and b
            if (b.gradIn()[0] >= 0 || f == DIV) x1 = need(b.in()[1], node, "input 1");
            if (b.gradIn()[1] >= 0) x0 = need(b.in()[0], node, "input 0");
        } else if (f == POW) {
            x0 = need(b.in()[0], node, "input 0");
            x1 = need(b.in()[1], node, "input 1");
            y = need(b.out()[0], node, "the output");
        }
        int first = b.gradIn()[0] == gy ? 1 : 0;
        for (int k : new int[]{first, 1 - first}) {
            long gk = b.gradIn()[k];
            if (gk < 0) continue;
            long nk = node.inShapes().get(k).numel();
            be.elementwise(BCAST_BWD, nk, join(new Object[]{p(x0), p(x1), p(y), p(gy), p(gk), nk, f, k, 0f, 0f,
                    flag(accIn(b, k))}, s.args(0, 1)));
        }
    }

    static int function(ConstElementwise op) {
        return switch (op.fn()) {
            case "add" -> ADD;
            case "sub" -> SUB;
            case "mul" -> MUL;
            case "div" -> DIV;
            case "pow" -> POW;
            case "mod" -> MOD;
            case "fmod" -> FMOD;
            default -> throw new IllegalArgumentException("unknown function " + op.fn());
        };
    }

    private static Shape constShape(ConstElementwise op) {
        return op.shape().isEmpty() ? Shape.of(1)
                : new Shape(op.shape().stream().mapToInt(Integer::intValue).toArray());
    }

    /** x (fn) c, or c (fn) x when reversed; c is param 0 or the scalar value (rounded to float, as on the CPU). */
    void constFwd(Node node, ConstElementwise op, Bindings b) {
        boolean scalar = op.shape().isEmpty(), rev = op.reversed();
        Shape xs = node.inShapes().get(0), cs = constShape(op), ys = node.outShapes().get(0);
        long x = b.in()[0], c = scalar ? -1 : need(param(b, 0), node, "the constant");
        float cv = scalar ? (float) op.value() : 0f;
        Strided6 s = Strided6.of(what(node), ys, rev ? List.of(cs, xs) : List.of(xs, cs));
        be.elementwise(BCAST_FWD, ys.numel(), join(new Object[]{p(rev ? c : x), p(rev ? x : c), p(b.out()[0]),
                ys.numel(),
                function(op), rev ? cv : 0f, rev ? 0f : cv}, s.args(0, 1)));
    }

    /**
     * The constant's gradient (a trainable tensor) first, then x's (which may share memory with gy). Reads x, c and y
     * as the op declares: c ^ x saves only y, so its constant's gradient recovers x as ln(y) / ln(c).
     */
    void constBwd(Node node, ConstElementwise op, Bindings b) {
        int f = function(op);
        boolean scalar = op.shape().isEmpty(), rev = op.reversed();
        Shape xs = node.inShapes().get(0), cs = constShape(op), ys = node.outShapes().get(0);
        long gy = b.gradOut()[0], gx = b.gradIn()[0], gc = scalar ? -1 : gradParam(b, 0);
        boolean mod = f == MOD || f == FMOD;
        boolean xNeeded = f == MUL && gc >= 0 || f == DIV && (gc >= 0 || rev) || f == POW && !rev
                || mod && (gc >= 0 || rev);
        boolean cNeeded = f != ADD && f != SUB && !(mod && gc < 0 && !rev), yNeeded = f == POW && rev;
        long x = xNeeded ? need(b.in()[0], node, "the input") : -1;
        long c = cNeeded && !scalar ? need(param(b, 0), node, "the constant") : -1;
        float cv = cNeeded && scalar ? (float) op.value() : 0f;
        long y = yNeeded ? need(b.out()[0], node, "the output") : -1;
        Strided6 s = Strided6.of(what(node), ys, rev ? List.of(cs, xs) : List.of(xs, cs));
        Object pa = p(rev ? c : x), pb = p(rev ? x : c);
        float sa = rev ? cv : 0f, sb = rev ? 0f : cv;
        if (gc >= 0) {
            int fc = f == POW && rev ? POW_RECOVER : f;
            be.elementwise(BCAST_BWD, cs.numel(), join(new Object[]{pa, pb, p(y), p(gy), p(gc), cs.numel(), fc,
                    rev ? 0 : 1,
                    sa, sb, flag(accParam(b, 0))}, s.args(0, 1)));
        }
        if (gx >= 0)
            be.elementwise(BCAST_BWD, xs.numel(), join(new Object[]{pa, pb, p(y), p(gy), p(gx), xs.numel(), f,
                    rev ? 1 : 0,
                    sa, sb, flag(accIn(b, 0))}, s.args(0, 1)));
    }

    private record Mask(long offset, Shape shape, int dtype) {
    }

    /** The mask: input 1 (any dtype), or the op's buffer "mask". */
    private static Mask mask(Graph g, Node node, MaskedFill op, Bindings b) {
        if (op.maskShape().isEmpty())
            return new Mask(need(b.in()[1], node, "the mask"), node.inShapes().get(1),
                    dtypeCode(g.value(node.inputs()[1]).dtype()));
        return new Mask(need(param(b, 0), node, "the mask"), node.op().params(node.inShapes()).get(0).shape(),
                dtypeCode(g.value(node.params()[0]).dtype()));
    }

    void maskedFillFwd(Graph g, Node node, MaskedFill op, Bindings b) {
        Mask m = mask(g, node, op, b);
        Shape ys = node.outShapes().get(0);
        Strided6 s = Strided6.of(what(node), ys, List.of(node.inShapes().get(0), m.shape()));
        be.elementwise(MASKED_FILL_FWD, ys.numel(), join(new Object[]{p(b.in()[0]), p(m.offset()), p(b.out()[0]),
                ys.numel(), m.dtype(), flag(op.keepWhereTrue()), (float) op.value()}, s.args(0, 1)));
    }

    /** Compare: one byte per element from inputs (or a constant buffer) of any stored dtype; no gradient. */
    void compareFwd(Graph g, Node node, Compare op, Bindings b) {
        Shape ys = node.outShapes().get(0);
        boolean two = node.inputs().length == 2, buffer = !op.constShape().isEmpty();
        DType t0 = g.value(node.inputs()[0]).dtype(), t1 = two ? g.value(node.inputs()[1]).dtype()
                : buffer ? g.value(node.params()[0]).dtype() : DType.FP32;
        DType half = t0 == DType.FP16 || t0 == DType.BF16 ? t0 : t1 == DType.FP16 || t1 == DType.BF16 ? t1 : null;
        if (half != null) throw new BackendException(node.name() + " (Compare): the CUDA backend compares fp32, "
                + "int32, int64 and bool tensors, not " + half);
        Shape s1 = two ? node.inShapes().get(1) : buffer ? node.op().params(node.inShapes()).get(0).shape()
                : node.inShapes().get(0);
        long x1 = two ? b.in()[1] : buffer ? need(param(b, 0), node, "the constant") : -1;
        Strided6 s = Strided6.of(what(node), ys, List.of(node.inShapes().get(0), s1));
        be.elementwise(COMPARE_FWD, ys.numel(), join(new Object[]{p(b.in()[0]), p(x1),
                p(b.out()[0]), ys.numel(), dtypeCode(t0), dtypeCode(t1), op.relation().ordinal(),
                op.value() == null ? 0.0 : op.value()}, s.args(0, 1)));
    }

    void maskedFillBwd(Graph g, Node node, MaskedFill op, Bindings b) {
        long gx = b.gradIn()[0];
        if (gx < 0) return;
        Mask m = mask(g, node, op, b);
        Shape xs = node.inShapes().get(0), ys = node.outShapes().get(0);
        Strided6 s = Strided6.of(what(node), ys, List.of(xs, m.shape()));
        be.elementwise(MASKED_FILL_BWD, xs.numel(), join(new Object[]{p(m.offset()), p(b.gradOut()[0]), p(gx),
                xs.numel(),
                m.dtype(), flag(op.keepWhereTrue()), flag(accIn(b, 0))}, s.args(0, 1)));
    }
}

package memplan.onnx;

import memplan.ir.DType;
import memplan.onnx.OpMapper.Signature;
import memplan.onnx.proto.Onnx.TensorProto.DataType;
import memplan.ops.Add;
import memplan.ops.Cast;
import memplan.ops.Clip;
import memplan.ops.Compare;
import memplan.ops.ConstElementwise;
import memplan.ops.Div;
import memplan.ops.Dropout;
import memplan.ops.GELU;
import memplan.ops.HardSigmoid;
import memplan.ops.HardSwish;
import memplan.ops.Mish;
import memplan.ops.LeakyReLU;
import memplan.ops.MaskedFill;
import memplan.ops.Mul;
import memplan.ops.Op;
import memplan.ops.Pow;
import memplan.ops.ReLU;
import memplan.ops.Sigmoid;
import memplan.ops.Softmax;
import memplan.ops.Sqrt;
import memplan.ops.Sub;
import memplan.ops.Tanh;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Unary and binary elementwise operators (binary ones broadcast), Where as a masked fill, Dropout, Clip, Cast. */
final class ElementwiseMapper implements OpMapper {
    private final Converter cv;

    ElementwiseMapper(Converter cv) {
        this.cv = cv;
    }

    @Override
    public List<Signature> handles() {
        return List.of(Signature.of("Relu", 1, 1), Signature.of("LeakyRelu", 1, 1), Signature.of("Sigmoid", 1, 1),
                Signature.of("Tanh", 1, 1), Signature.of("HardSigmoid", 1, 1), Signature.of("HardSwish", 1, 1),
                        Signature.of("Mish", 1, 1),
                Signature.of("Gelu", 1, 1), Signature.of("Sqrt", 1, 1), Signature.of("Softmax", 1, 1),
                Signature.of("LogSoftmax", 1, 1), Signature.of("Erf", 1, 1), Signature.of("Add", 2, 2),
                Signature.of("Sub", 2, 2), Signature.of("Mul", 2, 2), Signature.of("Div", 2, 2),
                Signature.of("Pow", 2, 2), Signature.of("Where", 3, 3), Signature.of("Dropout", 1, 3),
                Signature.of("Clip", 1, 3), Signature.of("Cast", 1, 1), Signature.of("Identity", 1, 1),
                Signature.of("Equal", 2, 2), Signature.of("Less", 2, 2), Signature.of("Greater", 2, 2),
                Signature.of("And", 2, 2), Signature.of("Or", 2, 2), Signature.of("Xor", 2, 2),
                Signature.of("Not", 1, 1), Signature.of("Mod", 2, 2));
    }

    @Override
    public void convert(OnnxNode n) {
        switch (n.type()) {
            case "Relu" -> unary(n, new ReLU());
            case "LeakyRelu" -> unary(n, new LeakyReLU(n.attrFloat("alpha", 0.01)));
            case "Sigmoid" -> unary(n, new Sigmoid());
            case "Tanh" -> unary(n, new Tanh());
            case "HardSigmoid" -> unary(n, new HardSigmoid(n.attrFloat("alpha", 0.2), n.attrFloat("beta", 0.5)));
            case "HardSwish" -> unary(n, new HardSwish());
            case "Mish" -> unary(n, new Mish());
            case "Gelu" -> unary(n, new GELU());
            case "Sqrt" -> unary(n, new Sqrt());
            case "Softmax", "LogSoftmax" -> unary(n, new Softmax()); // same memory and cost on any axis
            case "Erf" -> throw new Unsupported("Erf", "only the Div/Erf/Add/Mul/Mul pattern of an exported GELU "
                    + "is supported");
            case "Add", "Sub", "Mul", "Div", "Pow" -> binary(n);
            case "Where" -> maskedFill(n);
            case "Dropout" -> dropout(n);
            case "Clip" -> clip(n);
            case "Cast" -> cast(n);
            case "Equal", "Less", "Greater", "And", "Or", "Xor", "Not" -> compare(n);
            case "Mod" -> mod(n);
            default -> n.put(0, n.act(0)); // Identity
        }
    }

    private static void unary(OnnxNode n, Op op) {
        n.put(0, n.emit(op, List.of(n.act(0))));
    }

    private void binary(OnnxNode n) {
        Val a = n.required(0, "A"), b = n.required(1, "B");
        String op = n.type();
        String fn = op.toLowerCase();
        if (a.isAct() && b.isAct()) {
            Op o = switch (op) {
                case "Add" -> new Add();
                case "Mul" -> new Mul();
                case "Sub" -> new Sub();
                case "Div" -> new Div();
                default -> new Pow();
            };
            n.put(0, n.emit(o, List.of(a, b)));
            return;
        }
        if (a.isConst() && b.isAct()) n.put(0, withConst(cv, n, n.hint(), fn, b, a.c, true));
        else if (a.isAct()) n.put(0, withConst(cv, n, n.hint(), fn, a, b.c, false));
        else throw n.error("both operands are unknown"); // constants are folded before mapping
    }

    /**
     * Mod with one computed operand and a constant (a scalar or a tensor): a ConstElementwise "mod" (fmod = 0, the
     * divisor's sign) or "fmod" (fmod = 1). The gradient goes to a computed dividend unchanged, as PyTorch's
     * remainder and fmod by a constant.
     */
    private void mod(OnnxNode n) {
        Val a = n.required(0, "A"), b = n.required(1, "B");
        long fmod = n.attrInt("fmod", 0);
        if (fmod != 0 && fmod != 1) throw n.error("attribute 'fmod' must be 0 or 1, got " + fmod);
        String fn = fmod == 1 ? "fmod" : "mod";
        if (a.isAct() && b.isAct())
            throw new Unsupported("Mod (two tensors)", "MemPlan models Mod of a tensor and a constant");
        if (a.isAct()) n.put(0, withConst(cv, n, n.hint(), fn, a, b.c, false));
        else n.put(0, withConst(cv, n, n.hint(), fn, b, a.c, true));
    }

    /**
     * A comparison or logic op on a computed tensor: a bool Compare. A constant operand of one value is the op's
     * scalar (Less(c, x) is Greater(x, c)); a constant tensor of more values is a buffer the op owns.
     */
    private static void compare(OnnxNode n) {
        Compare.Relation r = Compare.Relation.valueOf(n.type().toUpperCase(Locale.ROOT));
        if (r == Compare.Relation.NOT) {
            n.put(0, n.emit(new Compare(r, null), List.of(n.act(0))));
            return;
        }
        Val a = n.required(0, "A"), b = n.required(1, "B");
        if (a.isAct() && b.isAct()) {
            n.put(0, n.emit(new Compare(r, null), List.of(a, b)));
            return;
        }
        boolean reversed = a.isConst();
        Val x = reversed ? b : a;
        Val.Const c = reversed ? a.c : b.c;
        if (reversed && r == Compare.Relation.LESS) r = Compare.Relation.GREATER;
        else if (reversed && r == Compare.Relation.GREATER) r = Compare.Relation.LESS;
        if (c.numel() != 1 || c.shape.length > x.rank()) { // a fixed table: a buffer of the op
            List<Integer> shape = Arrays.stream(c.shape).boxed().toList();
            n.put(0, n.emit(new Compare(r, null, shape), List.of(x), new Converter.Weight("const", c)));
            return;
        }
        double v = OnnxNode.shortest(n.scalar(c, "constant operand"));
        n.put(0, n.emit(new Compare(r, v), List.of(x)));
    }

    /** y + c for a Gemm's C operand: a tensor or a constant. */
    static Val addOperand(Converter cv, OnnxNode n, String hint, Val y, Val c) {
        if (c.isAct()) return cv.emit(hint, new Add(), List.of(y, c)).get(0);
        return withConst(cv, n, hint, "add", y, c.c, false);
    }

    /**
     * x (fn) c for a constant c: a single value is a hyperparameter of the op; any other constant is a parameter
     * of it, trainable if it is a float initializer (how frameworks export learned tensors), else a buffer.
     */
    static Val withConst(Converter cv, OnnxNode n, String hint, String fn, Val x, Val.Const c, boolean reversed) {
        if (c.numel() == 1) {
            double v = finite(OnnxNode.shortest(n.scalar(c, "constant operand")));
            int[] cs = c.shape;
            Val y = cv.emit(hint, ConstElementwise.scalar(fn, v, reversed), List.of(x)).get(0);
            if (cs.length > x.rank()) { // a [1, 1, 1] scalar broadcasts x up to its rank
                long[][] t = new long[Converter.LANES][];
                for (int lane = 0; lane < Converter.LANES; lane++) {
                    t[lane] = new long[cs.length];
                    Arrays.fill(t[lane], 1);
                    for (int i = 0; i < x.rank(); i++) t[lane][cs.length - x.rank() + i] = x.shape[lane].dim(i);
                }
                y = cv.reshapeTo(hint + "/reshape", y, t);
            }
            return y;
        }
        List<Integer> shape = Arrays.stream(c.shape).boxed().toList();
        boolean trainable = c.floating && c.initializer != null;
        return cv.emit(hint, new ConstElementwise(fn, shape, 0, reversed, trainable), List.of(x),
                new Converter.Weight("const", c)).get(0);
    }

    /** JSON has no infinities or NaN: -inf masks become the most negative float. */
    private static double finite(double v) {
        return Double.isFinite(v) ? v : Double.isNaN(v) ? 0 : Math.copySign(Float.MAX_VALUE, v);
    }

    /** Where(mask, x, value) or Where(mask, value, x): a MaskedFill; the mask a computed tensor or a fixed buffer. */
    private static void maskedFill(OnnxNode n) {
        Val cond = n.required(0, "condition"), a = n.required(1, "X"), b = n.required(2, "Y");
        if (a.isAct() && b.isAct()) {
            whereOfTwo(n, cond, a, b);
            return;
        }
        if (a.isConst() && b.isConst() && cond.isAct()) {
            whereOfConstants(n, cond, a.c, b.c);
            return;
        }
        if (a.isAct() == b.isAct())
            throw new Unsupported("Where (two tensors)", "MemPlan models Where with one tensor and one constant value");
        Val x = a.isAct() ? a : b;
        Val.Const c = a.isAct() ? b.c : a.c;
        if (c.numel() != 1) throw new Unsupported("Where (constant tensor operand)", null);
        double v = finite(OnnxNode.shortest(n.scalar(c, "fill value")));
        if (cond.isAct()) {
            n.put(0, n.emit(new MaskedFill(List.of(), v, a.isAct()), List.of(x, cond)));
            return;
        }
        List<Integer> shape = Arrays.stream(cond.c.shape).boxed().toList();
        n.put(0, n.emit(new MaskedFill(shape.isEmpty() ? List.of(1) : shape, v, a.isAct()), List.of(x)));
    }

    /**
     * Where(c, A, B) of two floating constants on a computed condition: float(c) * (A - B) + B, a Cast and two
     * ConstElementwise ops (exact for scalars; constant tensors are fixed buffers of those ops, whose values are
     * not kept). Nothing is differentiable, as in PyTorch (the condition is bool, the operands constants).
     */
    private static void whereOfConstants(OnnxNode n, Val cond, Val.Const a, Val.Const b) {
        if (!a.floating || !b.floating)
            throw new Unsupported("Where (two integer constants)", "selecting between integer constants");
        Val f = n.emitAs(n.hint() + "/cast", new Cast(null), List.of(cond));
        Val y;
        if (a.numel() == 1 && b.numel() == 1) {
            double va = finite(OnnxNode.shortest(n.scalar(a, "X"))), vb = finite(OnnxNode.shortest(n.scalar(b, "Y")));
            y = n.emitAs(n.hint() + "/scale", ConstElementwise.scalar("mul", va - vb, false), List.of(f));
            y = n.emit(ConstElementwise.scalar("add", vb, false), List.of(y));
        } else {
            y = n.emitAs(n.hint() + "/scale", new ConstElementwise("mul", shape(a), 0, false, false), List.of(f));
            y = n.emit(new ConstElementwise("add", shape(b), 0, false, false), List.of(y));
        }
        n.put(0, y);
    }

    private static List<Integer> shape(Val.Const c) {
        return c.shape.length == 0 ? List.of(1) : Arrays.stream(c.shape).boxed().toList();
    }

    /**
     * Where(c, x, y) of two tensors: x kept where c and y kept where not c, each a MaskedFill with 0, then added
     * (x + 0 or 0 + y: the same values; each gradient flows where its operand was kept). PyTorch's where makes one
     * tensor; this makes two more of the output's size for a moment, freed by the Add (they save only the mask).
     */
    private static void whereOfTwo(OnnxNode n, Val cond, Val x, Val y) {
        if (cond.isConst()) {
            if (cond.c.numel() == 1) { // a fixed choice
                n.put(0, n.scalar(cond.c, "condition") != 0 ? x : y);
                return;
            }
            List<Integer> shape = Arrays.stream(cond.c.shape).boxed().toList();
            Val kx = n.emitAs(n.hint() + "/x", new MaskedFill(shape, 0, true), List.of(x));
            Val ky = n.emitAs(n.hint() + "/y", new MaskedFill(shape, 0, false), List.of(y));
            n.put(0, n.emit(new Add(), List.of(kx, ky)));
            return;
        }
        Val kx = n.emitAs(n.hint() + "/x", new MaskedFill(List.of(), 0, true), List.of(x, cond));
        Val ky = n.emitAs(n.hint() + "/y", new MaskedFill(List.of(), 0, false), List.of(y, cond));
        n.put(0, n.emit(new Add(), List.of(kx, ky)));
    }

    private static void dropout(OnnxNode n) {
        Val x = n.act(0);
        double p = n.opset() < 12 ? n.attrFloat("ratio", 0.5)
                : n.has(1) ? n.scalar(n.cst(1, "ratio"), "ratio") : 0.5;
        if (!(p >= 0 && p < 1)) throw n.error("the dropout ratio must be in [0, 1), got " + p);
        if (n.outputUsed(1)) throw new Unsupported("Dropout (mask output)", null);
        if (p == 0) { // PyTorch's dropout returns its input when p = 0 (no mask, no copy), as torchvision's ViT/Swin
            n.put(0, x);
            return;
        }
        n.put(0, n.emit(new Dropout(p), List.of(x)));
    }

    private static void clip(OnnxNode n) {
        Val x = n.act(0);
        double lo = Double.NEGATIVE_INFINITY, hi = Double.POSITIVE_INFINITY;
        if (n.opset() < 11) {
            lo = n.attrFloat("min", lo);
            hi = n.attrFloat("max", hi);
        } else {
            if (n.has(1)) lo = n.scalar(n.cst(1, "min"), "min");
            if (n.has(2)) hi = n.scalar(n.cst(2, "max"), "max");
        }
        // max(x, 0) written as Clip(0) is a ReLU
        n.put(0, n.emit(lo == 0 && hi == Double.POSITIVE_INFINITY ? new ReLU() : new Clip(lo, hi), List.of(x)));
    }

    private static void cast(OnnxNode n) {
        Val x = n.act(0);
        int to = n.attrSmallInt("to", DataType.FLOAT_VALUE);
        DType target = OnnxTensor.isFloating(to) ? null : Converter.dtypeOf(to);
        if (!OnnxTensor.isFloating(to) && target == null)
            throw n.error("cannot cast to " + OnnxTensor.typeName(to));
        boolean fromFloat = x.dtype == null || x.dtype.floating;
        if (target == null && fromFloat || target != null && target == x.dtype) {
            n.put(0, x); // float to float: MemPlan keeps one floating type; no copy
            return;
        }
        n.put(0, n.emit(new Cast(target), List.of(x)));
    }
}

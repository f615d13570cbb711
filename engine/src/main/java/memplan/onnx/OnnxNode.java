package memplan.onnx;

import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.onnx.proto.Onnx.AttributeProto.AttributeType;
import memplan.onnx.proto.Onnx.NodeProto;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.ops.Op;

import java.util.Arrays;
import java.util.List;

/**
 * One ONNX node as the mappers read it: its inputs as {@link Val}s and its attributes, each checked before use
 * (present, of the right type, in range), so that every problem becomes one {@link OnnxError} naming the node, its
 * op type and the reason in words. The one place where node arity and attribute types are validated.
 */
final class OnnxNode {
    final NodeProto proto;
    private final Converter cv;

    OnnxNode(Converter cv, NodeProto proto) {
        this.cv = cv;
        this.proto = proto;
    }

    String type() {
        return proto.getOpType();
    }

    int opset() {
        return cv.opset;
    }

    /** A name for the layers made from this node: its name, else its first output, else its op type. */
    String hint() {
        return hint(proto);
    }

    static String hint(NodeProto n) {
        if (!n.getName().isEmpty()) return n.getName();
        if (n.getOutputCount() > 0 && !n.getOutput(0).isEmpty()) return n.getOutput(0);
        return n.getOpType();
    }

    String where() {
        return where(proto);
    }

    static String where(NodeProto n) {
        return "node '" + hint(n) + "' (" + n.getOpType() + ")";
    }

    OnnxError error(String reason) {
        return new OnnxError(where(), reason);
    }

    // ---------------------------------------------------------------- inputs

    /** Whether input k is given (optional inputs may be left out or given as an empty name). */
    boolean has(int k) {
        return k < proto.getInputCount() && !proto.getInput(k).isEmpty();
    }

    String inputName(int k) {
        return proto.getInput(k);
    }

    String output(int k) {
        return proto.getOutput(k);
    }

    int outputCount() {
        return proto.getOutputCount();
    }

    /** Whether output k is given and read by a later node. */
    boolean outputUsed(int k) {
        return k < proto.getOutputCount() && !proto.getOutput(k).isEmpty() && cv.isConsumed(proto.getOutput(k));
    }

    /** Input k, or null when it is not given. */
    Val in(int k) {
        return has(k) ? cv.input(this, k) : null;
    }

    /** Input k, which must be given; what names it in the error (null: just its index). */
    Val required(int k, String what) {
        if (!has(k)) throw error("input " + k + (what == null ? "" : " (" + what + ")") + " is missing");
        return cv.input(this, k);
    }

    /** Input k, which must be given and computed from the model's inputs. */
    Val act(int k) {
        Val v = required(k, "the data");
        if (!v.isAct()) throw new Unsupported(type() + " (constant input " + k + ")", "input " + k + " ('"
                + inputName(k) + "') of " + type()
                + " is a constant; MemPlan expects a tensor computed from the inputs");
        return v;
    }

    /** Input k as a constant (initializer or folded shape computation); it must be given. */
    Val.Const cst(int k, String what) {
        return constant(required(k, what), k, what);
    }

    /** Input k as a constant, or null when it is not given. */
    Val.Const optCst(int k, String what) {
        return has(k) ? cst(k, what) : null;
    }

    private Val.Const constant(Val v, int k, String what) {
        if (!v.isConst()) throw new Unsupported(type() + " (computed " + what + ")", what + " ('" + inputName(k)
                + "') of " + type() + " must be a constant (an initializer or folded shape computation)");
        return v.c;
    }

    Arr values(Val.Const c, int lane, String what) {
        Arr a = c.lane(lane);
        if (a == null) throw error("needs the values of the " + what + ", which is too large or not numeric");
        return a;
    }

    /** Integer values of constant input k, which must not depend on the batch; null when it is not given. */
    long[] ints(int k, String what) {
        Val.Const c = optCst(k, what);
        if (c == null) return null;
        long[] a = values(c, 0, what).longs();
        if (!Arrays.equals(a, values(c, 1, what).longs()))
            throw error("the " + what + " depends on the batch size, which MemPlan cannot express here");
        return a;
    }

    /** Like {@link #ints} but the input must be given. */
    long[] requiredInts(int k, String what) {
        required(k, what);
        return ints(k, what);
    }

    double scalar(Val.Const c, String what) {
        Arr a = values(c, 0, what);
        if (a.v().length != 1)
            throw error("the " + what + " must be a single value, got shape " + Arrays.toString(a.shape()));
        return a.v()[0];
    }

    // ---------------------------------------------------------------- attributes

    AttributeProto attr(String name) {
        for (AttributeProto a : proto.getAttributeList()) if (a.getName().equals(name)) return a;
        return null;
    }

    /** The attribute, checked to be of the given type (or untyped, as very old files write, with that field set). */
    private AttributeProto typed(String name, AttributeType want, boolean untypedPresent) {
        AttributeProto a = attr(name);
        if (a == null) return null;
        if (a.getType() == want || a.getType() == AttributeType.UNDEFINED && untypedPresent) return a;
        throw error("attribute '" + name + "' must be " + describe(want) + ", but the file gives "
                + describe(a.getType()));
    }

    private static String describe(AttributeType t) {
        return switch (t) {
            case FLOAT -> "a number";
            case INT -> "an integer";
            case STRING -> "a string";
            case TENSOR -> "a tensor";
            case FLOATS -> "a list of numbers";
            case INTS -> "a list of integers";
            case STRINGS -> "a list of strings";
            case UNDEFINED -> "no value";
            default -> "a " + t.name().toLowerCase().replace('_', ' ');
        };
    }

    long attrInt(String name, long dflt) {
        AttributeProto a = attr(name);
        if (a == null) return dflt;
        return typed(name, AttributeType.INT, a.hasI()).getI();
    }

    /** An integer attribute that must fit an int (a count, an axis, a flag). */
    int attrSmallInt(String name, int dflt) {
        long v = attrInt(name, dflt);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE)
            throw error("attribute '" + name + "' is out of range: " + v);
        return (int) v;
    }

    double attrFloat(String name, double dflt) {
        AttributeProto a = attr(name);
        if (a == null) return dflt;
        if (a.getType() == AttributeType.INT) return a.getI(); // some exporters write 0 for 0.0
        return shortest(typed(name, AttributeType.FLOAT, a.hasF()).getF());
    }

    /** A float attribute's value as stored (a float widened to double), or NaN when it is absent. */
    double attrFloat32(String name) {
        AttributeProto a = attr(name);
        if (a == null) return Double.NaN;
        return typed(name, AttributeType.FLOAT, a.hasF()).getF();
    }

    /** A float attribute as the decimal it was written as (1e-5, not 9.99999974e-6). */
    static double shortest(double f) {
        return Double.parseDouble(Float.toString((float) f));
    }

    String attrString(String name, String dflt) {
        AttributeProto a = attr(name);
        if (a == null) return dflt;
        return typed(name, AttributeType.STRING, a.hasS()).getS().toStringUtf8();
    }

    long[] attrInts(String name) {
        AttributeProto a = attr(name);
        if (a == null) return null;
        return typed(name, AttributeType.INTS, a.getIntsCount() > 0).getIntsList().stream()
                .mapToLong(Long::longValue).toArray();
    }

    double[] attrFloats(String name) {
        AttributeProto a = attr(name);
        if (a == null) return null;
        return typed(name, AttributeType.FLOATS, a.getFloatsCount() > 0).getFloatsList().stream()
                .mapToDouble(Float::doubleValue).toArray();
    }

    TensorProto attrTensor(String name) {
        AttributeProto a = attr(name);
        if (a == null) return null;
        return typed(name, AttributeType.TENSOR, a.hasT()).getT();
    }

    /** An axis (negative counts from the end) checked against the rank. */
    int axis(long a, int rank, String what) {
        long ax = a < 0 ? a + rank : a;
        if (ax < 0 || ax >= rank)
            throw error("the " + what + " " + a + " is out of range for a tensor of rank " + rank);
        return (int) ax;
    }

    /** Values that must each fit an int (sizes, pads, indices); larger ones are an error, not a wrap-around. */
    int[] smallInts(long[] xs, String what) {
        if (xs == null) return null;
        int[] out = new int[xs.length];
        for (int i = 0; i < xs.length; i++) {
            if (xs[i] < Integer.MIN_VALUE || xs[i] > Integer.MAX_VALUE)
                throw error("the " + what + " " + xs[i] + " is out of range");
            out[i] = (int) xs[i];
        }
        return out;
    }

    /** Checks that a list has the given length. */
    void length(long[] xs, int n, String what) {
        if (xs != null && xs.length != n)
            throw error("the " + what + " must have " + n + " value" + (n == 1 ? "" : "s") + ", got " + xs.length);
    }

    // ---------------------------------------------------------------- outputs

    void put(int k, Val v) {
        if (k < proto.getOutputCount() && !proto.getOutput(k).isEmpty()) cv.vals.put(proto.getOutput(k), v);
    }

    /** Emits op on the inputs as one layer named after this node; returns its first output. */
    Val emit(Op op, List<Val> ins, Converter.Weight... weights) {
        return cv.emit(hint(), op, ins, weights).get(0);
    }

    /** A layer named after this node with a suffix (one of several it becomes). */
    Val emitAs(String hint, Op op, List<Val> ins) {
        return cv.emit(hint, op, ins).get(0);
    }
}

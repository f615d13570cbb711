package memplan.onnx;

import memplan.ir.DType;
import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.onnx.proto.Onnx.TensorProto.DataType;
import memplan.ops.Embedding;
import memplan.ops.Fill;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Folds the shape computations exporters leave in graphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape and the
 * like) to constants, evaluated in both lanes (see {@link Val}): Constant nodes, Shape and Size of activations, and
 * any foldable node whose inputs are all constants. The value rules of each op are in {@link FoldRules}.
 */
final class ConstantFolder {
    private static final Set<String> FOLDABLE = Set.of("Identity", "Cast", "Gather", "Unsqueeze", "Squeeze",
            "Concat", "Slice", "Reshape", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Neg", "Equal", "Less", "Greater",
            "Where", "Range", "Transpose", "Floor", "Ceil", "Min", "Max", "Abs", "Not", "Expand", "ConstantOfShape",
            "Flatten", "Mod", "Reciprocal", "And", "Or", "Xor", "Tile", "ScatterND", "CumSum");
    /** Ops that only move a tensor: they keep it known by shape even when its values are too large to decode. */
    private static final Set<String> MOVES = Set.of("Identity", "Cast", "Reshape", "Transpose", "Unsqueeze",
            "Squeeze", "Flatten");

    private final Converter cv;

    ConstantFolder(Converter cv) {
        this.cv = cv;
    }

    /** Whether a node of this type is folded when all its inputs are constants (Shape and Size always are). */
    static boolean handles(String opType) {
        return FOLDABLE.contains(opType);
    }

    Val.Const constantNode(OnnxNode n) {
        for (AttributeProto a : n.proto.getAttributeList()) {
            switch (a.getName()) {
                case "value" -> {
                    TensorProto t = n.attrTensor("value");
                    String where = n.where();
                    int[] dims = OnnxTensor.dims(t, where);
                    return new Val.Const(dims, null, () -> OnnxTensor.decode(t, cv.modelDir, where),
                            OnnxTensor.isFloating(t.getDataType()), null, true);
                }
                case "value_float" -> {
                    return Val.Const.same(Arr.scalar(n.attrFloat32("value_float")), true);
                }
                case "value_int" -> {
                    return Val.Const.same(Arr.scalar(n.attrInt("value_int", 0)), false);
                }
                case "value_floats" -> {
                    return Val.Const.same(Arr.vector(n.attrFloats("value_floats")), true);
                }
                case "value_ints" -> {
                    return Val.Const.same(Arr.vector(Arrays.stream(n.attrInts("value_ints")).asDoubleStream()
                            .toArray()), false);
                }
                default -> { }
            }
        }
        throw n.error(n.proto.getAttributeCount() == 0 ? "has no value"
                : "a Constant given as '" + n.proto.getAttribute(0).getName() + "' is not supported");
    }

    void shapeOf(OnnxNode n) {
        Val x = n.required(0, "the data");
        boolean size = n.type().equals("Size");
        if (x.isConst()) {
            int[] d = x.c.shape;
            Arr a = size ? Arr.scalar(OnnxTensor.numel(d)) : Arr.vector(Arrays.stream(d).asDoubleStream().toArray());
            n.put(0, Val.constant(Val.Const.same(a, false)));
            return;
        }
        Arr[] lanes = new Arr[Converter.LANES];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            int[] d = x.shape[lane].dims();
            if (size) lanes[lane] = Arr.scalar(x.shape[lane].numel());
            else {
                int r = d.length;
                int start = (int) FoldRules.clampIndex(n.attrInt("start", 0), r);
                int end = (int) FoldRules.clampIndex(n.attrInt("end", r), r);
                lanes[lane] = Arr.vector(Arrays.stream(Arrays.copyOfRange(d, start, Math.max(start, end)))
                        .asDoubleStream().toArray());
            }
        }
        n.put(0, Val.constant(Val.Const.of(lanes[0], lanes[1], false)));
    }

    void fold(OnnxNode n) {
        String op = n.type();
        Val.Const c0 = n.required(0, "the data").c;
        FoldRules rules = new FoldRules(n, cv.modelDir);
        if (op.equals("Gather") && learnedRowsRepeated(n, c0)) {
            // Swin's relative position bias: table[index] with an index that repeats rows. PyTorch trains the table
            // and gathers it every step, so it is an Embedding of the table (its parameter count, an activation of
            // the gathered size), not a larger learned constant.
            Val.Const ix = n.in(1).c;
            List<String> dims = Arrays.stream(ix.shape).mapToObj(Integer::toString).toList();
            Val ids = cv.emit(n.hint() + "/indices", new Fill(dims, 0, DType.INT64), List.of()).get(0);
            n.put(0, cv.emit(n.hint(), new Embedding(c0.shape[0], c0.shape[1]), List.of(ids),
                    new Converter.Weight("weight", c0)).get(0));
            return;
        }
        if ((op.equals("Gather") || op.equals("Slice")) && c0.lane(0) == null) {
            // rows of a large table with constant indices (a positional embedding cut to the sequence): known by shape
            int[] s = op.equals("Gather") ? gatherShape(n, c0.shape) : sliceShape(n, c0.shape);
            n.put(0, Val.constant(new Val.Const(s, null, null, c0.floating, c0.initializer, c0.constantNode)));
            return;
        }
        if (op.equals("Concat") && concatOfUndecoded(n)) return;
        if (MOVES.contains(op) && c0.lane(0) == null) {
            int[] s = rules.lane(0, true).shape();
            boolean fl = op.equals("Cast") ? OnnxTensor.isFloating(n.attrSmallInt("to", 1)) : c0.floating;
            n.put(0, Val.constant(new Val.Const(s, null, null, fl, c0.initializer, c0.constantNode)));
            return;
        }
        Arr[] lanes = new Arr[Converter.LANES];
        String[] failed = new String[Converter.LANES];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            try {
                lanes[lane] = rules.lane(lane, false);
            } catch (OnnxError | ArithmeticException e) {
                failed[lane] = String.valueOf(e.getMessage());
            } catch (IllegalArgumentException e) {
                if (e.getClass() != IllegalArgumentException.class) throw e;
                failed[lane] = String.valueOf(e.getMessage());
            }
        }
        if (failed[0] != null || failed[1] != null) throw n.error(Converter.inWords(failed[0], failed[1]));
        Arr a0 = lanes[0], a1 = lanes[1];
        boolean floating = switch (op) {
            case "Cast" -> OnnxTensor.isFloating(n.attrSmallInt("to", 1));
            case "Equal", "Less", "Greater", "Not", "And", "Or", "Xor" -> false;
            case "ScatterND", "Tile", "CumSum" -> c0.floating;
            case "ConstantOfShape" -> n.attrTensor("value") == null
                    || OnnxTensor.isFloating(n.attrTensor("value").getDataType());
            case "Range" -> c0.floating;
            default -> {
                boolean f = false;
                for (int k = op.equals("Where") ? 1 : 0; k < n.proto.getInputCount(); k++)
                    if (n.has(k)) f |= n.in(k).c.floating;
                yield f;
            }
        };
        if (!Arrays.equals(a0.shape(), a1.shape())) {
            batchSized(n, c0, a0, a1, floating);
            return;
        }
        boolean keepsInitializer = MOVES.contains(op) || op.equals("Gather") || op.equals("Slice");
        Val.Const c = new Val.Const(a0.shape(), new Arr[]{a0, a1}, null, floating,
                keepsInitializer ? c0.initializer : null, c0.constantNode);
        n.put(0, Val.constant(c));
    }

    /**
     * Concat of constants one of which is too large to decode: known by shape, like a Slice of one. PyTorch's LSTM
     * export reorders its gates so (Slice and Concat of each weight); the result keeps the initializer when all the
     * parts come from the same one, so the weight stays that parameter.
     */
    private static boolean concatOfUndecoded(OnnxNode n) {
        List<Val.Const> parts = new ArrayList<>();
        boolean undecoded = false;
        for (int k = 0; k < n.proto.getInputCount(); k++) {
            if (!n.has(k)) continue;
            Val.Const c = n.in(k).c;
            parts.add(c);
            undecoded |= c.lane(0) == null;
        }
        if (!undecoded) return false;
        int[] first = parts.get(0).shape;
        int axis = n.axis(n.attrInt("axis", 0), first.length, "axis");
        int[] s = first.clone();
        s[axis] = 0;
        String init = parts.get(0).initializer;
        boolean floating = false;
        for (Val.Const p : parts) {
            boolean fits = p.shape.length == first.length;
            for (int i = 0; fits && i < first.length; i++) fits = i == axis || p.shape[i] == first[i];
            if (!fits) throw n.error("cannot concatenate " + Arrays.toString(first) + " and "
                    + Arrays.toString(p.shape) + " on axis " + axis);
            s[axis] += p.shape[axis];
            if (init != null && !init.equals(p.initializer)) init = null;
            floating |= p.floating;
        }
        n.put(0, Val.constant(new Val.Const(s, null, null, floating, init, false)));
        return true;
    }

    /** Gather of rows of a learned [V, D] table by constant indices that name a row more than once. */
    private static boolean learnedRowsRepeated(OnnxNode n, Val.Const table) {
        if (!table.floating || table.initializer == null || table.shape.length != 2 || n.attrInt("axis", 0) != 0)
            return false;
        Val.Const idx = n.required(1, "indices").c;
        Arr ix = idx.lane(0), ix1 = idx.lane(1);
        if (ix == null || ix1 == null || !Arrays.equals(ix.v(), ix1.v())) return false;
        Set<Double> seen = new HashSet<>();
        for (double v : ix.v()) if (!seen.add(v < 0 ? v + table.shape[0] : v)) return true;
        return false;
    }

    /**
     * A constant whose shape depends on the batch (ConstantOfShape of a shape read from the input: a recurrent net's
     * zero state; a class token expanded to the batch): a Fill op sized per batch, so it has the right bytes at any
     * batch. An expanded learned tensor is the Fill plus that tensor, as a trainable constant operand, so the
     * parameter is counted once and gets its gradient.
     */
    private void batchSized(OnnxNode n, Val.Const c0, Arr a0, Arr a1, boolean floating) {
        List<String> dims = BatchDims.modelDims(a0.shape(), a1.shape());
        String shape = BatchDims.describe(a0.shape(), a1.shape());
        if (dims == null)
            throw n.error("computes a constant of shape " + shape + ", which depends on the batch size in a way "
                    + "MemPlan cannot size (only the batch itself, N, can be a dimension)");
        Double v = uniform(a0, a1);
        DType dtype = dtypeOf(n, floating);
        boolean learned = c0.floating && c0.initializer != null; // a class token: zeros at export, still learned
        if (v != null && !(learned && n.type().equals("Expand"))) {
            n.put(0, cv.emit(n.hint(), new Fill(dims, v, dtype), List.of()).get(0));
            return;
        }
        if (!n.type().equals("Expand") || !floating)
            throw n.error("computes a constant of shape " + shape + " whose values vary and whose shape depends on "
                    + "the batch size; MemPlan cannot express it");
        Val zeros = cv.emit(n.hint() + "/fill", new Fill(dims, 0, null), List.of()).get(0);
        n.put(0, ElementwiseMapper.withConst(cv, n, n.hint(), "add", zeros, c0, false));
    }

    /** The single value of a constant that holds one value everywhere, in both lanes; else null. */
    private static Double uniform(Arr a0, Arr a1) {
        double[] v0 = a0.v(), v1 = a1.v();
        if (v0.length == 0) return 0.0;
        double v = v0[0];
        for (double x : v0) if (Double.compare(x, v) != 0) return null;
        for (double x : v1) if (Double.compare(x, v) != 0) return null;
        return Double.isFinite(v) ? v : null;
    }

    /** The dtype of a folded result: null for floating; an integer or bool type from the node where it says. */
    private static DType dtypeOf(OnnxNode n, boolean floating) {
        if (floating) return null;
        int type = switch (n.type()) {
            case "Equal", "Less", "Greater", "Not", "And", "Or", "Xor" -> DataType.BOOL_VALUE;
            case "Cast" -> n.attrSmallInt("to", 1);
            case "ConstantOfShape" -> n.attrTensor("value") == null ? DataType.FLOAT_VALUE
                    : n.attrTensor("value").getDataType();
            default -> DataType.INT64_VALUE;
        };
        DType d = Converter.dtypeOf(type);
        return d == null ? DType.INT64 : d;
    }

    private static int[] gatherShape(OnnxNode n, int[] d) {
        int axis = n.axis(n.attrInt("axis", 0), d.length, "axis");
        int[] ix = n.required(1, "indices").c.shape;
        int[] s = new int[d.length - 1 + ix.length];
        System.arraycopy(d, 0, s, 0, axis);
        System.arraycopy(ix, 0, s, axis, ix.length);
        System.arraycopy(d, axis + 1, s, axis + ix.length, d.length - axis - 1);
        return s;
    }

    private static int[] sliceShape(OnnxNode n, int[] d) {
        FoldRules.SliceArgs args = FoldRules.sliceArgs(n, 0), other = FoldRules.sliceArgs(n, 1);
        if (!Arrays.equals(args.starts(), other.starts()) || !Arrays.equals(args.ends(), other.ends()))
            throw n.error("the slice bounds depend on the batch size, which MemPlan cannot express here");
        long[] st = args.starts(), en = args.ends(), ax = args.axes(), sp = args.steps();
        int[] s = d.clone();
        for (int i = 0; i < st.length; i++) {
            int a = ax == null ? n.axis(i, d.length, "axis") : n.axis(ax[i], d.length, "axis");
            if (sp != null && sp[i] != 1) throw new Unsupported("Slice (step " + sp[i] + ")", null);
            s[a] = (int) Math.max(0, FoldRules.clampIndex(en[i], d[a]) - FoldRules.clampIndex(st[i], d[a]));
        }
        return s;
    }
}

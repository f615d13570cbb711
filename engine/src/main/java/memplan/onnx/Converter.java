package memplan.onnx;

import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import memplan.ir.ShapeException;
import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.onnx.proto.Onnx.GraphProto;
import memplan.onnx.proto.Onnx.NodeProto;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.onnx.proto.Onnx.TensorProto.DataType;
import memplan.ops.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntFunction;

/**
 * Maps the nodes of an ONNX graph, in their (topological) file order, to MemPlan layers. Shape computations are
 * folded to constants; weights stay parameters of the op that uses them; see docs/onnx.md for the operator table.
 */
final class Converter {
    /** The batch value of each evaluation lane (see {@link Val}). */
    static final int[] LANE_BATCH = {24, 36};
    static final int LANES = 2;

    private final GraphProto graph;
    final int opset;
    private final Path modelDir;
    private final OnnxOptions options;

    final Map<String, Val> vals = new HashMap<>();
    private final Map<String, List<NodeProto>> consumers = new HashMap<>();
    private final Set<String> graphOutputs = new HashSet<>();
    private final Set<NodeProto> skip = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    final List<Layer> layers = new ArrayList<>();
    private final Set<String> layerNames = new HashSet<>();
    /** initializer name -> "layer.param" of its first use as a parameter (later uses are tied to it). */
    private final Map<String, String> paramOf = new HashMap<>();
    private final Map<String, Shape> paramShape = new HashMap<>();
    final Map<String, Integer> unsupported = new TreeMap<>();
    final Map<String, String> unsupportedExample = new TreeMap<>();
    /** Axis-0 size fixed in the file for a data input (an export with batch 1), or -1. */
    int fileBatch = -1;

    Converter(GraphProto graph, int opset, Path modelDir, OnnxOptions options) {
        this.graph = graph;
        this.opset = opset;
        this.modelDir = modelDir;
        this.options = options;
        for (NodeProto n : graph.getNodeList())
            for (String in : n.getInputList()) if (!in.isEmpty()) consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
        for (var o : graph.getOutputList()) graphOutputs.add(o.getName());
    }

    // ---------------------------------------------------------------- layers

    String uniqueName(String hint) {
        String base = hint == null || hint.isBlank() ? "node" : hint.replace(':', '_').trim();
        String name = base;
        for (int k = 2; layerNames.contains(name); k++) name = base + "_" + k;
        layerNames.add(name);
        return name;
    }

    record Weight(String param, Val.Const tensor) {
    }

    List<Val> emit(String hint, Op op, List<Val> ins, Weight... weights) {
        String name = uniqueName(hint);
        List<String> refs = new ArrayList<>();
        for (Val v : ins) refs.add(v.ref);
        List<List<Shape>> outs = new ArrayList<>();
        for (int lane = 0; lane < LANES; lane++) {
            List<Shape> inShapes = new ArrayList<>();
            for (Val v : ins) inShapes.add(v.shape[lane]);
            outs.add(op.inferShapes(inShapes));
        }
        Map<String, String> tie = new LinkedHashMap<>();
        List<Shape> in0 = new ArrayList<>();
        for (Val v : ins) in0.add(v.shape[0]);
        for (Weight w : weights) {
            if (w.tensor() == null) continue;
            ParamSpec spec = op.params(in0).stream().filter(p -> p.name().equals(w.param())).findFirst()
                    .orElseThrow(() -> new IllegalStateException(op.type() + " has no parameter " + w.param()));
            long have = w.tensor().numel();
            if (have != spec.shape().numel())
                throw new ShapeException(op.type() + " needs a " + w.param() + " of shape " + spec.shape() + " ("
                        + spec.shape().numel() + " elements) but the tensor has shape " + Arrays.toString(w.tensor().shape)
                        + " (" + have + ")");
            String init = w.tensor().initializer;
            if (init == null) continue;
            String first = paramOf.get(init);
            if (first == null) {
                paramOf.put(init, name + "." + w.param());
                paramShape.put(init, spec.shape());
            } else if (paramShape.get(init).equals(spec.shape())) tie.put(w.param(), first);
        }
        layers.add(new Layer(name, op, refs, tie));
        List<Val> out = new ArrayList<>();
        int k = outs.get(0).size();
        for (int i = 0; i < k; i++) {
            Shape[] s = new Shape[LANES];
            for (int lane = 0; lane < LANES; lane++) s[lane] = outs.get(lane).get(i);
            DType dt = op.outputDType(i);
            if (op.isView() || op instanceof Slice || op instanceof Transpose || op instanceof Split || op instanceof Concat
                    || op instanceof Pad) dt = ins.get(0).dtype;
            out.add(Val.act(k == 1 ? name : name + ":" + i, s, dt));
        }
        return out;
    }

    Val emit1(NodeProto n, Op op, List<Val> ins, Weight... weights) {
        return emit(hint(n), op, ins, weights).get(0);
    }

    static String hint(NodeProto n) {
        if (!n.getName().isEmpty()) return n.getName();
        if (n.getOutputCount() > 0 && !n.getOutput(0).isEmpty()) return n.getOutput(0);
        return n.getOpType();
    }

    static String where(NodeProto n) {
        return "node '" + hint(n) + "' (" + n.getOpType() + ")";
    }

    // ---------------------------------------------------------------- inputs and constants

    void addInitializer(TensorProto t) {
        String where = "initializer '" + t.getName() + "'";
        int[] dims = OnnxTensor.dims(t, where);
        if (OnnxTensor.isExternal(t)) OnnxTensor.external(t, modelDir, where); // fail now if the file is missing
        Val.Const c = new Val.Const(dims, null, () -> OnnxTensor.decode(t, modelDir, where),
                OnnxTensor.isFloating(t.getDataType()), t.getName(), false);
        vals.put(t.getName(), Val.constant(c));
    }

    void addInput(String name, List<String> dims, DType dtype) {
        Input op = new Input(dims, dtype);
        String layer = uniqueName(name);
        layers.add(new Layer(layer, op, List.of()));
        Shape[] s = new Shape[LANES];
        for (int lane = 0; lane < LANES; lane++) s[lane] = op.resolve(Map.of(ModelDef.BATCH, LANE_BATCH[lane]));
        vals.put(name, Val.act(layer, s, dtype));
    }

    private Val in(NodeProto n, int k) {
        if (k >= n.getInputCount() || n.getInput(k).isEmpty()) return null;
        Val v = vals.get(n.getInput(k));
        if (v == null) throw new OnnxError(where(n), "input '" + n.getInput(k) + "' is not produced by an earlier node, an initializer or a graph input");
        if (v.transposeOf != null && !(n.getOpType().equals("MatMul") && k == 1)) v = materialize(v);
        return v;
    }

    private Val act(NodeProto n, int k) {
        Val v = in(n, k);
        if (v == null) throw new OnnxError(where(n), "input " + k + " is missing");
        if (!v.isAct()) throw new Unsupported(n.getOpType() + " (constant input " + k + ")",
                "input " + k + " ('" + n.getInput(k) + "') of " + n.getOpType() + " is a constant; MemPlan expects a tensor computed from the inputs");
        return v;
    }

    private Val.Const cst(NodeProto n, int k, String what) {
        Val v = in(n, k);
        if (v == null) return null;
        if (!v.isConst()) throw new Unsupported(n.getOpType() + " (computed " + what + ")",
                what + " ('" + n.getInput(k) + "') of " + n.getOpType() + " must be a constant (an initializer or folded shape computation)");
        return v.c;
    }

    private Arr values(NodeProto n, Val.Const c, int lane, String what) {
        Arr a = c.lane(lane);
        if (a == null) throw new OnnxError(where(n), "needs the values of the " + what + ", which is too large or not numeric");
        return a;
    }

    /** Integer values of a constant input that must not depend on the batch. */
    private long[] ints(NodeProto n, int k, String what) {
        Val.Const c = cst(n, k, what);
        if (c == null) return null;
        long[] a = values(n, c, 0, what).longs();
        if (!Arrays.equals(a, values(n, c, 1, what).longs()))
            throw new OnnxError(where(n), "the " + what + " depends on the batch size, which MemPlan cannot express here");
        return a;
    }

    private double scalar(NodeProto n, Val.Const c, String what) {
        Arr a = values(n, c, 0, what);
        if (a.v().length != 1) throw new OnnxError(where(n), "the " + what + " must be a single value, got shape " + Arrays.toString(a.shape()));
        return a.v()[0];
    }

    // ---------------------------------------------------------------- attributes

    static AttributeProto attr(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) if (a.getName().equals(name)) return a;
        return null;
    }

    static long attrInt(NodeProto n, String name, long dflt) {
        AttributeProto a = attr(n, name);
        return a == null ? dflt : a.getI();
    }

    static double attrFloat(NodeProto n, String name, double dflt) {
        AttributeProto a = attr(n, name);
        return a == null ? dflt : shortest(a.getF());
    }

    /** A float attribute as the decimal it was written as (1e-5, not 9.99999974e-6). */
    static double shortest(double f) {
        return Double.parseDouble(Float.toString((float) f));
    }

    static String attrString(NodeProto n, String name, String dflt) {
        AttributeProto a = attr(n, name);
        return a == null ? dflt : a.getS().toStringUtf8();
    }

    static long[] attrInts(NodeProto n, String name) {
        AttributeProto a = attr(n, name);
        if (a == null) return null;
        return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    static int[] toInts(long[] xs) {
        if (xs == null) return null;
        int[] out = new int[xs.length];
        for (int i = 0; i < xs.length; i++) out[i] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, xs[i]));
        return out;
    }

    // ---------------------------------------------------------------- driver

    void run() {
        // Constant nodes first: patterns look at constants that may come later in file order.
        for (NodeProto n : graph.getNodeList())
            if (n.getOpType().equals("Constant") && isDefaultDomain(n)) {
                try {
                    put(n, 0, Val.constant(constantNode(n)));
                } catch (OnnxError e) {
                    throw e;
                } catch (RuntimeException e) {
                    throw new OnnxError(where(n), e.getMessage());
                }
                skip.add(n);
            }
        for (NodeProto n : graph.getNodeList()) {
            if (skip.contains(n)) continue;
            boolean unknownInput = false;
            for (String i : n.getInputList()) unknownInput |= !i.isEmpty() && vals.get(i) == Val.UNKNOWN;
            if (unknownInput) {
                // downstream of an unsupported operator: still count operators that are unsupported themselves
                String label = isDefaultDomain(n) ? n.getOpType() : n.getDomain() + "." + n.getOpType();
                if (!isDefaultDomain(n) || !SUPPORTED.contains(n.getOpType())) {
                    unsupported.merge(label, 1, Integer::sum);
                    unsupportedExample.putIfAbsent(label, where(n));
                }
                for (String o : n.getOutputList()) vals.put(o, Val.UNKNOWN);
                continue;
            }
            try {
                convert(n);
            } catch (Unsupported u) {
                unsupported.merge(u.label, 1, Integer::sum);
                unsupportedExample.putIfAbsent(u.label, where(n) + (u.getMessage() == null ? "" : ": " + u.getMessage()));
                opaque(n);
            } catch (OnnxError e) {
                throw e;
            } catch (ShapeException | IllegalArgumentException | IndexOutOfBoundsException | ArithmeticException e) {
                throw new OnnxError(where(n), e.getMessage());
            }
        }
    }

    private static boolean isDefaultDomain(NodeProto n) {
        return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
    }

    private void put(NodeProto n, int k, Val v) {
        if (k < n.getOutputCount() && !n.getOutput(k).isEmpty()) vals.put(n.getOutput(k), v);
    }

    /** Operators with a mapping (some uses of them may still be unsupported). */
    static final Set<String> SUPPORTED = Set.of("Conv", "ConvTranspose", "Gemm", "MatMul", "Relu", "LeakyRelu", "Sigmoid", "Tanh",
            "HardSigmoid", "HardSwish", "Gelu", "Erf", "BatchNormalization", "LayerNormalization", "MaxPool", "AveragePool",
            "GlobalAveragePool", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "ReduceMean", "Concat", "Split", "Slice", "Flatten",
            "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Softmax", "LogSoftmax", "Gather", "Dropout", "Resize", "Upsample",
            "Pad", "Clip", "Cast", "Identity", "Constant", "Shape", "Size", "Where", "Expand");

    /**
     * Outputs of an unsupported node: with --opaque an Opaque op of its first tensor input's shape; otherwise unknown,
     * so that conversion goes on only to find the other unsupported operators.
     */
    private void opaque(NodeProto n) {
        if (!options.opaqueUnsupported()) {
            for (String o : n.getOutputList()) vals.put(o, Val.UNKNOWN);
            return;
        }
        List<Val> acts = new ArrayList<>();
        for (int k = 0; k < n.getInputCount(); k++) {
            Val v = n.getInput(k).isEmpty() ? null : vals.get(n.getInput(k));
            if (v != null && v.transposeOf != null) v = materialize(v);
            if (v != null && v.isAct()) acts.add(v);
        }
        if (acts.isEmpty() || n.getOutputCount() == 0) {
            if (options.opaqueUnsupported())
                throw new OnnxError(where(n), "unsupported operator " + n.getOpType() + " has no tensor input, so it cannot be kept as an opaque op");
            for (String o : n.getOutputList()) vals.put(o, Val.UNKNOWN);
            return;
        }
        String src = "onnx:" + (isDefaultDomain(n) ? "" : n.getDomain() + ".") + n.getOpType();
        List<Val> outs = emit(hint(n), new Opaque(src, acts.size(), n.getOutputCount()), acts);
        for (int k = 0; k < outs.size(); k++) put(n, k, outs.get(k));
    }

    // ---------------------------------------------------------------- operators

    private static final Set<String> FOLDABLE = Set.of("Identity", "Cast", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice",
            "Reshape", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Neg", "Equal", "Less", "Greater", "Where", "Range",
            "Transpose", "Floor", "Ceil", "Min", "Max", "Abs", "Not", "Expand", "ConstantOfShape", "Flatten", "Mod", "Reciprocal");

    private void convert(NodeProto n) {
        String op = n.getOpType();
        if (!isDefaultDomain(n)) throw new Unsupported(n.getDomain() + "." + op, null);
        if (op.equals("Shape") || op.equals("Size")) {
            shapeOf(n);
            return;
        }
        boolean allConst = true;
        int present = 0;
        for (int k = 0; k < n.getInputCount(); k++) {
            if (n.getInput(k).isEmpty()) continue;
            present++;
            allConst &= in(n, k).isConst();
        }
        if (allConst && present > 0 && FOLDABLE.contains(op)) {
            fold(n);
            return;
        }
        if ((op.equals("Div") || op.equals("Mul")) && gelu(n)) return;
        if (op.equals("ReduceMean") && layerNormPattern(n)) return;
        switch (op) {
            case "Conv" -> conv(n);
            case "ConvTranspose" -> convTranspose(n);
            case "Gemm" -> gemm(n);
            case "MatMul" -> matMul(n);
            case "Relu" -> unary(n, new ReLU());
            case "LeakyRelu" -> unary(n, new LeakyReLU(attrFloat(n, "alpha", 0.01)));
            case "Sigmoid" -> unary(n, new Sigmoid());
            case "Tanh" -> unary(n, new Tanh());
            case "HardSigmoid" -> unary(n, new HardSigmoid(attrFloat(n, "alpha", 0.2), attrFloat(n, "beta", 0.5)));
            case "HardSwish" -> unary(n, new HardSwish());
            case "Gelu" -> unary(n, new GELU());
            case "Sqrt" -> unary(n, new Sqrt());
            case "Softmax", "LogSoftmax" -> unary(n, new Softmax()); // same memory and cost on any axis
            case "Dropout" -> dropout(n);
            case "BatchNormalization" -> batchNorm(n);
            case "LayerNormalization" -> layerNorm(n);
            case "MaxPool", "AveragePool" -> pool(n);
            case "GlobalAveragePool" -> unary(n, new GlobalAvgPool());
            case "Add", "Sub", "Mul", "Div", "Pow" -> binary(n);
            case "ReduceMean" -> reduceMean(n);
            case "Concat" -> concat(n);
            case "Split" -> split(n);
            case "Slice" -> slice(n);
            case "Flatten" -> flatten(n);
            case "Reshape" -> reshape(n);
            case "Transpose" -> transpose(n);
            case "Squeeze", "Unsqueeze" -> squeeze(n);
            case "Gather" -> gather(n);
            case "Resize", "Upsample" -> resize(n);
            case "Pad" -> pad(n);
            case "Clip" -> clip(n);
            case "Cast" -> cast(n);
            case "Identity" -> put(n, 0, act(n, 0));
            case "Where" -> maskedFill(n);
            case "Expand" -> put(n, 0, act(n, 0)); // a view in PyTorch: the op that reads it broadcasts
            case "Erf" -> throw new Unsupported("Erf", "only the Div/Erf/Add/Mul/Mul pattern of an exported GELU is supported");
            default -> throw new Unsupported(op, null);
        }
    }

    private void unary(NodeProto n, Op op) {
        put(n, 0, emit1(n, op, List.of(act(n, 0))));
    }

    // --- Conv ---

    /** begin/end pads of a 2-D spatial op, honouring auto_pad; kernel is the effective (dilated) size. */
    private int[] pads2d(NodeProto n, Shape x, int[] kernelEff, int[] strides) {
        String auto = attrString(n, "auto_pad", "NOTSET");
        int[] pads = new int[4];
        if (auto.equals("SAME_UPPER") || auto.equals("SAME_LOWER")) {
            for (int i = 0; i < 2; i++) {
                int in = x.dim(2 + i);
                int out = (in + strides[i] - 1) / strides[i];
                int total = Math.max(0, (out - 1) * strides[i] + kernelEff[i] - in);
                int small = total / 2, big = total - small;
                pads[i] = auto.equals("SAME_UPPER") ? small : big;
                pads[i + 2] = auto.equals("SAME_UPPER") ? big : small;
            }
        } else if (!auto.equals("VALID")) {
            long[] p = attrInts(n, "pads");
            if (p != null) {
                if (p.length != 4) throw new OnnxError(where(n), "pads must have 4 values for a 2-D op, got " + Arrays.toString(p));
                pads = toInts(p);
            }
        }
        return pads;
    }

    private int[] pair(NodeProto n, String name, int dflt) {
        long[] v = attrInts(n, name);
        if (v == null) return new int[]{dflt, dflt};
        if (v.length != 2) throw new Unsupported(n.getOpType() + " (" + v.length + "-D)", name + " has " + v.length + " values; only 2-D is supported");
        return toInts(v);
    }

    /** Emits a Pad for the part of asymmetric (or extra) padding a symmetric op cannot express; returns the input to use. */
    private Val padExtra(NodeProto n, Val x, int[] pads, int[] sym) {
        int eh0 = pads[0] - sym[0], ew0 = pads[1] - sym[1], eh1 = pads[2] - sym[0], ew1 = pads[3] - sym[1];
        if (eh0 == 0 && ew0 == 0 && eh1 == 0 && ew1 == 0) return x;
        return emit(hint(n) + "/pad", new Pad(List.of(0, 0, eh0, ew0, 0, 0, eh1, ew1), "constant"), List.of(x)).get(0);
    }

    private void conv(NodeProto n) {
        Val x = act(n, 0);
        Val.Const w = cst(n, 1, "weight");
        Val.Const b = n.getInputCount() > 2 ? cst(n, 2, "bias") : null;
        if (x.rank() != 4 || w.shape.length != 4) throw new Unsupported("Conv (" + (x.rank() - 2) + "-D)", "only 2-D convolution is supported");
        int group = (int) attrInt(n, "group", 1);
        int[] k = pair(n, "kernel_shape", -1);
        if (k[0] < 0) k = new int[]{w.shape[2], w.shape[3]};
        int[] s = pair(n, "strides", 1), d = pair(n, "dilations", 1);
        int[] pads = pads2d(n, x.shape[0], new int[]{d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1}, s);
        int[] sym = {Math.min(pads[0], pads[2]), Math.min(pads[1], pads[3])};
        Val xin = padExtra(n, x, pads, sym);
        Conv2d op = new Conv2d(w.shape[0], new Pair(k[0], k[1]), new Pair(s[0], s[1]), new Pair(sym[0], sym[1]),
                new Pair(d[0], d[1]), group, b != null);
        put(n, 0, emit1(n, op, List.of(xin), new Weight("weight", w), new Weight("bias", b)));
    }

    private void convTranspose(NodeProto n) {
        Val x = act(n, 0);
        Val.Const w = cst(n, 1, "weight");
        Val.Const b = n.getInputCount() > 2 ? cst(n, 2, "bias") : null;
        if (x.rank() != 4 || w.shape.length != 4) throw new Unsupported("ConvTranspose (" + (x.rank() - 2) + "-D)", "only 2-D is supported");
        int group = (int) attrInt(n, "group", 1);
        int[] k = pair(n, "kernel_shape", -1);
        if (k[0] < 0) k = new int[]{w.shape[2], w.shape[3]};
        int[] s = pair(n, "strides", 1), d = pair(n, "dilations", 1), op = pair(n, "output_padding", 0);
        int[] pads = new int[4];
        long[] outShape = attrInts(n, "output_shape");
        String auto = attrString(n, "auto_pad", "NOTSET");
        if (outShape != null || auto.startsWith("SAME")) {
            for (int i = 0; i < 2; i++) {
                int in = x.shape[0].dim(2 + i);
                int target = outShape != null ? (int) outShape[outShape.length - 2 + i] : in * s[i];
                int total = Math.max(0, s[i] * (in - 1) + op[i] + d[i] * (k[i] - 1) + 1 - target);
                pads[i] = auto.equals("SAME_LOWER") ? total - total / 2 : total / 2;
                pads[i + 2] = total - pads[i];
            }
        } else if (attrInts(n, "pads") != null) pads = toInts(attrInts(n, "pads"));
        // padding p on both sides; the asymmetric remainder becomes output padding (same output size).
        int[] p = {Math.max(pads[0], pads[2]), Math.max(pads[1], pads[3])};
        int[] opad = {op[0] + Math.abs(pads[0] - pads[2]), op[1] + Math.abs(pads[1] - pads[3])};
        ConvTranspose2d ct = new ConvTranspose2d(w.shape[1] * group, new Pair(k[0], k[1]), new Pair(s[0], s[1]), new Pair(p[0], p[1]),
                new Pair(opad[0], opad[1]), new Pair(d[0], d[1]), group, b != null);
        put(n, 0, emit1(n, ct, List.of(x), new Weight("weight", w), new Weight("bias", b)));
    }

    // --- Gemm / MatMul ---

    private void gemm(NodeProto n) {
        if (attrInt(n, "transA", 0) != 0) throw new Unsupported("Gemm (transA)", "Gemm with transA = 1 is not supported");
        Val a = act(n, 0);
        Val bv = in(n, 1);
        Val c = in(n, 2);
        boolean transB = attrInt(n, "transB", 0) != 0;
        Val y;
        if (bv.isConst()) {
            int out = transB ? bv.c.shape[0] : bv.c.shape[1];
            boolean bias = c != null && c.isConst() && c.c.numel() == out && c.c.initializer != null;
            y = emit1(n, new Linear(out, bias), List.of(a), new Weight("weight", bv.c), new Weight("bias", bias ? c.c : null));
            if (bias) c = null;
        } else {
            if (bv.transposeOf != null) bv = materialize(bv);
            y = emit1(n, new MatMul(transB), List.of(a, bv));
        }
        if (c != null) y = addOperand(n, hint(n) + "/bias", y, c);
        put(n, 0, y);
    }

    private Val addOperand(NodeProto n, String hint, Val y, Val c) {
        if (c.isAct()) return emit(hint, new Add(), List.of(y, c)).get(0);
        return withConst(n, hint, "add", y, c.c, false);
    }

    private void matMul(NodeProto n) {
        Val a = act(n, 0);
        Val b = in(n, 1);
        if (b.isConst()) {
            if (b.c.shape.length != 2) throw new Unsupported("MatMul (constant of rank " + b.c.shape.length + ")", "a constant second operand must be a 2-D weight");
            int out = b.c.shape[1];
            // PyTorch exports nn.Linear on 3-D input as MatMul + Add(bias): fold the bias back in.
            NodeProto add = soleConsumer(n.getOutput(0), "Add");
            Val.Const bias = null;
            if (add != null) {
                Val other = otherOperand(add, n.getOutput(0));
                if (other != null && other.isConst() && other.c.initializer != null && other.c.numel() == out
                        && other.c.shape[other.c.shape.length - 1] == out) bias = other.c;
            }
            Val y = emit1(n, new Linear(out, bias != null), List.of(a), new Weight("weight", b.c), new Weight("bias", bias));
            put(n, 0, y);
            if (bias != null) {
                skip.add(add);
                put(add, 0, y);
            }
            return;
        }
        boolean transposeB = false;
        if (b.transposeOf != null) {
            b = b.transposeOf;
            transposeB = true;
        }
        if (a.rank() != b.rank()) throw new Unsupported("MatMul (broadcast)", "operands of rank " + a.rank() + " and " + b.rank());
        put(n, 0, emit1(n, new MatMul(transposeB), List.of(a, b)));
    }

    private NodeProto soleConsumer(String tensor, String opType) {
        List<NodeProto> cs = consumers.getOrDefault(tensor, List.of());
        if (cs.size() != 1 || graphOutputs.contains(tensor)) return null;
        NodeProto c = cs.get(0);
        return c.getOpType().equals(opType) && isDefaultDomain(c) ? c : null;
    }

    private Val otherOperand(NodeProto node, String tensor) {
        if (node.getInputCount() != 2) return null;
        String o = node.getInput(0).equals(tensor) ? node.getInput(1) : node.getInput(1).equals(tensor) ? node.getInput(0) : null;
        return o == null ? null : vals.get(o);
    }

    // --- normalisation ---

    private void batchNorm(NodeProto n) {
        Val x = act(n, 0);
        Val.Const scale = cst(n, 1, "scale"), bias = cst(n, 2, "bias");
        cst(n, 3, "running mean");
        cst(n, 4, "running variance");
        if (x.rank() != 4) throw new Unsupported("BatchNormalization (rank " + x.rank() + ")", "only [N, C, H, W] input is supported");
        double m = attrFloat(n, "momentum", 0.9);
        BatchNorm2d op = new BatchNorm2d(attrFloat(n, "epsilon", 1e-5), Math.round((1 - m) * 1e6) / 1e6);
        put(n, 0, emit1(n, op, List.of(x), new Weight("weight", scale), new Weight("bias", bias)));
    }

    private void layerNorm(NodeProto n) {
        Val x = act(n, 0);
        Val.Const scale = cst(n, 1, "scale");
        Val.Const bias = n.getInputCount() > 2 ? cst(n, 2, "bias") : null;
        int axis = (int) attrInt(n, "axis", -1);
        if (axis != -1 && axis != x.rank() - 1)
            throw new Unsupported("LayerNormalization (several axes)", "normalising from axis " + axis + " of rank " + x.rank());
        put(n, 0, emit1(n, new LayerNorm(attrFloat(n, "epsilon", 1e-5)), List.of(x), new Weight("weight", scale), new Weight("bias", bias)));
    }

    // --- pooling ---

    private void pool(NodeProto n) {
        Val x = act(n, 0);
        boolean max = n.getOpType().equals("MaxPool");
        if (n.getOutputCount() > 1 && !n.getOutput(1).isEmpty() && consumers.containsKey(n.getOutput(1)))
            throw new Unsupported("MaxPool (indices output)", null);
        if (x.rank() != 4) throw new Unsupported(n.getOpType() + " (" + (x.rank() - 2) + "-D)", "only 2-D pooling is supported");
        int[] k = pair(n, "kernel_shape", 1);
        int[] s = pair(n, "strides", 1), d = pair(n, "dilations", 1);
        if (d[0] != 1 || d[1] != 1) throw new Unsupported(n.getOpType() + " (dilation)", null);
        int[] pads = pads2d(n, x.shape[0], k, s);
        if (attrInt(n, "ceil_mode", 0) != 0) {
            // ceil mode: one more window where a partial window starts inside the input; pad the end to get it
            for (int i = 0; i < 2; i++) {
                int in = x.shape[0].dim(2 + i), span = in + pads[i] + pads[i + 2] - k[i];
                int out = (span + s[i] - 1) / s[i] + 1;
                if ((out - 1) * s[i] >= in + pads[i]) out--;
                int floorOut = span / s[i] + 1;
                if (out > floorOut) pads[i + 2] += (out - 1) * s[i] - span;
            }
        }
        int[] sym = {Math.min(Math.min(pads[0], pads[2]), k[0] / 2), Math.min(Math.min(pads[1], pads[3]), k[1] / 2)};
        Val xin = padExtra(n, x, pads, sym);
        Pair kp = new Pair(k[0], k[1]), sp = new Pair(s[0], s[1]), pp = new Pair(sym[0], sym[1]);
        put(n, 0, emit1(n, max ? new MaxPool2d(kp, sp, pp) : new AvgPool2d(kp, sp, pp), List.of(xin)));
    }

    // --- elementwise ---

    private void binary(NodeProto n) {
        Val a = in(n, 0), b = in(n, 1);
        String op = n.getOpType();
        String fn = op.toLowerCase();
        if (a.isAct() && b.isAct()) {
            Op o = switch (op) {
                case "Add" -> new Add();
                case "Mul" -> new Mul();
                case "Sub" -> new Sub();
                case "Div" -> new Div();
                default -> new Pow();
            };
            put(n, 0, emit1(n, o, List.of(a, b)));
            return;
        }
        if (a.isConst() && b.isAct()) put(n, 0, withConst(n, hint(n), fn, b, a.c, true));
        else put(n, 0, withConst(n, hint(n), fn, a, b.c, false));
    }

    /**
     * x (fn) c for a constant c: a single value is a hyperparameter of the op; any other constant is a parameter
     * of it, trainable if it is a float initializer (how frameworks export learned tensors), else a buffer.
     */
    private Val withConst(NodeProto n, String hint, String fn, Val x, Val.Const c, boolean reversed) {
        if (c.numel() == 1) {
            double v = shortest(scalar(n, c, "constant operand"));
            if (!Double.isFinite(v)) v = Double.isNaN(v) ? 0 : Math.copySign(Float.MAX_VALUE, v); // JSON has no infinities
            int[] cs = c.shape;
            Val y = emit(hint, ConstElementwise.scalar(fn, v, reversed), List.of(x)).get(0);
            if (cs.length > x.rank()) { // a [1, 1, 1] scalar broadcasts x up to its rank
                long[][] t = new long[LANES][];
                for (int lane = 0; lane < LANES; lane++) {
                    t[lane] = new long[cs.length];
                    Arrays.fill(t[lane], 1);
                    for (int i = 0; i < x.rank(); i++) t[lane][cs.length - x.rank() + i] = x.shape[lane].dim(i);
                }
                y = reshapeTo(hint + "/reshape", y, t);
            }
            return y;
        }
        List<Integer> shape = Arrays.stream(c.shape).boxed().toList();
        boolean trainable = c.floating && c.initializer != null;
        return emit(hint, new ConstElementwise(fn, shape, 0, reversed, trainable), List.of(x), new Weight("const", c)).get(0);
    }

    /** Where(mask, x, value) or Where(mask, value, x): a MaskedFill; the mask a computed tensor or a fixed buffer. */
    private void maskedFill(NodeProto n) {
        Val cond = in(n, 0), a = in(n, 1), b = in(n, 2);
        if (a.isAct() == b.isAct()) throw new Unsupported("Where (two tensors)", "MemPlan models Where with one tensor and one constant value");
        Val x = a.isAct() ? a : b;
        Val.Const c = a.isAct() ? b.c : a.c;
        if (c.numel() != 1) throw new Unsupported("Where (constant tensor operand)", null);
        double v = shortest(scalar(n, c, "fill value"));
        if (!Double.isFinite(v)) v = Double.isNaN(v) ? 0 : Math.copySign(Float.MAX_VALUE, v); // -inf masks; JSON has no infinities
        if (cond.isAct()) {
            put(n, 0, emit1(n, new MaskedFill(List.of(), v, a.isAct()), List.of(x, cond)));
            return;
        }
        List<Integer> shape = Arrays.stream(cond.c.shape).boxed().toList();
        put(n, 0, emit1(n, new MaskedFill(shape.isEmpty() ? List.of(1) : shape, v, a.isAct()), List.of(x)));
    }

    private void dropout(NodeProto n) {
        Val x = act(n, 0);
        double p = opset < 12 ? attrFloat(n, "ratio", 0.5) : n.getInputCount() > 1 && !n.getInput(1).isEmpty()
                ? scalar(n, cst(n, 1, "ratio"), "ratio") : 0.5;
        if (n.getOutputCount() > 1 && consumers.containsKey(n.getOutput(1))) throw new Unsupported("Dropout (mask output)", null);
        put(n, 0, emit1(n, new Dropout(p), List.of(x)));
    }

    private void clip(NodeProto n) {
        Val x = act(n, 0);
        double lo = Double.NEGATIVE_INFINITY, hi = Double.POSITIVE_INFINITY;
        if (opset < 11) {
            lo = attrFloat(n, "min", lo);
            hi = attrFloat(n, "max", hi);
        } else {
            if (in(n, 1) != null) lo = scalar(n, cst(n, 1, "min"), "min");
            if (in(n, 2) != null) hi = scalar(n, cst(n, 2, "max"), "max");
        }
        // max(x, 0) written as Clip(0) is a ReLU
        put(n, 0, emit1(n, lo == 0 && hi == Double.POSITIVE_INFINITY ? new ReLU() : new Clip(lo, hi), List.of(x)));
    }

    private void cast(NodeProto n) {
        Val x = act(n, 0);
        int to = (int) attrInt(n, "to", DataType.FLOAT_VALUE);
        DType target = OnnxTensor.isFloating(to) ? null : dtypeOf(to);
        boolean fromFloat = x.dtype == null || x.dtype.floating;
        if (target == null && fromFloat || target != null && target == x.dtype) {
            put(n, 0, x); // float to float: MemPlan keeps one floating type; no copy
            return;
        }
        put(n, 0, emit1(n, new Cast(target), List.of(x)));
    }

    static DType dtypeOf(int onnxType) {
        return switch (onnxType) {
            case DataType.INT64_VALUE, DataType.UINT64_VALUE -> DType.INT64;
            case DataType.INT32_VALUE, DataType.UINT32_VALUE, DataType.INT16_VALUE, DataType.UINT16_VALUE -> DType.INT32;
            case DataType.BOOL_VALUE, DataType.INT8_VALUE, DataType.UINT8_VALUE -> DType.BOOL;
            default -> null;
        };
    }

    // --- reductions and shape ops ---

    private long[] axesOf(NodeProto n, int sinceOpset, int inputIndex) {
        return opset < sinceOpset ? attrInts(n, "axes") : ints(n, inputIndex, "axes");
    }

    private void reduceMean(NodeProto n) {
        Val x = act(n, 0);
        long[] axes = axesOf(n, 18, 1);
        boolean keep = attrInt(n, "keepdims", 1) != 0;
        List<Integer> ax = new ArrayList<>();
        if (axes != null) for (long a : axes) ax.add((int) (a < 0 ? a + x.rank() : a));
        if (ax.isEmpty() && attrInt(n, "noop_with_empty_axes", 0) != 0) {
            put(n, 0, x);
            return;
        }
        put(n, 0, emit1(n, new ReduceMean(ax, keep), List.of(x)));
    }

    private void concat(NodeProto n) {
        List<Val> ins = new ArrayList<>();
        for (int k = 0; k < n.getInputCount(); k++) {
            Val v = in(n, k);
            if (v == null) continue;
            if (!v.isAct()) {
                if (v.c.numel() == 0) continue; // an empty constant adds nothing
                throw new Unsupported("Concat (constant and tensor)", "input " + k + " is a constant");
            }
            ins.add(v);
        }
        int axis = (int) attrInt(n, "axis", 0);
        if (ins.size() == 1) {
            put(n, 0, ins.get(0));
            return;
        }
        put(n, 0, emit1(n, new Concat(axis < 0 ? axis + ins.get(0).rank() : axis), ins));
    }

    private void split(NodeProto n) {
        Val x = act(n, 0);
        int axis = (int) attrInt(n, "axis", 0);
        int ax = axis < 0 ? axis + x.rank() : axis;
        long[] sizes = opset < 13 ? attrInts(n, "split") : ints(n, 1, "split sizes");
        int parts = n.getOutputCount();
        int dim = x.shape[0].dim(ax);
        if (x.shape[1].dim(ax) != dim) throw new Unsupported("Split (batch axis)", "splitting the batch axis is not supported");
        List<Integer> sz = new ArrayList<>();
        if (sizes != null && sizes.length > 0) for (long s : sizes) sz.add((int) s);
        else {
            int each = (dim + parts - 1) / parts; // opset 18 num_outputs: the last part may be smaller
            for (int i = 0; i < parts; i++) sz.add(Math.min(each, dim - each * i));
        }
        List<Val> outs = emit(hint(n), new Split(ax, sz), List.of(x));
        for (int k = 0; k < outs.size(); k++) put(n, k, outs.get(k));
    }

    private void slice(NodeProto n) {
        Val x = act(n, 0);
        if (opset < 10) throw new Unsupported("Slice (opset < 10)", null);
        Val.Const cs = cst(n, 1, "starts"), ce = cst(n, 2, "ends");
        Val.Const ca = n.getInputCount() > 3 ? cst(n, 3, "axes") : null;
        Val.Const cst = n.getInputCount() > 4 ? cst(n, 4, "steps") : null;
        int r = x.rank();
        int m = cs.shape.length == 0 ? 1 : cs.shape[0];
        int[][] lo = new int[LANES][m], hi = new int[LANES][m];
        int[] axes = new int[m];
        for (int lane = 0; lane < LANES; lane++) {
            long[] s = values(n, cs, lane, "starts").longs(), e = values(n, ce, lane, "ends").longs();
            long[] a = ca == null ? null : values(n, ca, lane, "axes").longs();
            long[] st = cst == null ? null : values(n, cst, lane, "steps").longs();
            for (int i = 0; i < m; i++) {
                int ax = (int) (a == null ? i : a[i] < 0 ? a[i] + r : a[i]);
                if (st != null && st[i] != 1) throw new Unsupported("Slice (step " + st[i] + ")", "only step 1 is supported");
                int dim = x.shape[lane].dim(ax);
                axes[i] = ax;
                lo[lane][i] = (int) clampIndex(s[i], dim);
                hi[lane][i] = (int) clampIndex(e[i], dim);
            }
        }
        Val y = x;
        for (int i = 0; i < m; i++) {
            boolean full0 = lo[0][i] == 0 && hi[0][i] == x.shape[0].dim(axes[i]);
            boolean full1 = lo[1][i] == 0 && hi[1][i] == x.shape[1].dim(axes[i]);
            if (full0 && full1) continue;
            if (lo[0][i] != lo[1][i] || hi[0][i] != hi[1][i])
                throw new OnnxError(where(n), "the slice of axis " + axes[i] + " depends on the batch size");
            y = emit(hint(n) + (m > 1 ? "/" + axes[i] : ""), new memplan.ops.Slice(axes[i], lo[0][i], hi[0][i]), List.of(y)).get(0);
        }
        put(n, 0, y);
    }

    private static long clampIndex(long i, int dim) {
        if (i < 0) i += dim;
        return Math.max(0, Math.min(dim, i));
    }

    private void flatten(NodeProto n) {
        Val x = act(n, 0);
        int axis = (int) attrInt(n, "axis", 1);
        if (axis < 0) axis += x.rank();
        if (axis == 1 && x.rank() >= 2) {
            put(n, 0, emit1(n, new Flatten(1), List.of(x)));
            return;
        }
        long[][] t = new long[LANES][];
        for (int lane = 0; lane < LANES; lane++) {
            Shape s = x.shape[lane];
            t[lane] = new long[]{s.numel(0, axis), s.numel(axis, s.rank())};
        }
        put(n, 0, reshapeTo(hint(n), x, t));
    }

    private void reshape(NodeProto n) {
        Val x = act(n, 0);
        Val.Const spec = cst(n, 1, "shape");
        boolean allowZero = attrInt(n, "allowzero", 0) != 0;
        long[][] t = new long[LANES][];
        for (int lane = 0; lane < LANES; lane++) {
            long[] sp = values(n, spec, lane, "target shape").longs();
            t[lane] = resolveReshape(x.shape[lane], sp, allowZero);
            if (t[lane] == null && fileBatch > 0 && sp.length > 0 && sp[0] == fileBatch && x.shape[0].dim(0) != x.shape[1].dim(0)) {
                sp[0] = 0; // exported with a fixed batch baked into the target: follow the input's batch instead
                t[lane] = resolveReshape(x.shape[lane], sp, allowZero);
            }
            if (t[lane] == null)
                throw new OnnxError(where(n), "cannot reshape " + x.shape[lane] + " to " + Arrays.toString(sp)
                        + (lane > 0 || x.shape[0].dim(0) != x.shape[1].dim(0) ? " (at batch " + LANE_BATCH[lane]
                        + ": does the target shape fix the batch size?)" : ""));
        }
        put(n, 0, reshapeTo(hint(n), x, t));
    }

    static long[] resolveReshape(Shape x, long[] spec, boolean allowZero) {
        long[] t = spec.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < t.length; i++) {
            if (t[i] == 0 && !allowZero) {
                if (i >= x.rank()) return null;
                t[i] = x.dim(i);
            }
            if (t[i] == -1) {
                if (infer >= 0) return null;
                infer = i;
            } else known *= t[i];
        }
        if (infer >= 0) {
            if (known == 0 || x.numel() % known != 0) return null;
            t[infer] = x.numel() / known;
        } else if (known != x.numel()) return null;
        return t;
    }

    /**
     * A view of x with the given concrete shape in each lane, written batch-independently: entries equal in both
     * lanes are literal, an entry that follows x's own batch-dependent dimension at the same position is 0, one other
     * batch-dependent entry is -1.
     */
    Val reshapeTo(String hint, Val x, long[][] t) {
        boolean same = true;
        for (int lane = 0; lane < LANES; lane++) same &= Arrays.equals(t[lane], Arrays.stream(x.shape[lane].dims()).asLongStream().toArray());
        if (same) return x;
        List<Integer> spec = new ArrayList<>();
        boolean inferred = false;
        for (int i = 0; i < t[0].length; i++) {
            if (t[0][i] == t[1][i]) spec.add((int) t[0][i]);
            else if (i < x.rank() && x.shape[0].dim(i) == t[0][i] && x.shape[1].dim(i) == t[1][i]) spec.add(0);
            else if (!inferred) {
                spec.add(-1);
                inferred = true;
            } else throw new OnnxError("node '" + hint + "'", "the target shape " + Arrays.toString(t[0]) + " depends on the batch size in more than one dimension");
        }
        Val y = emit(hint, new Reshape(spec), List.of(x)).get(0);
        for (int lane = 0; lane < LANES; lane++)
            if (!Arrays.equals(Arrays.stream(y.shape[lane].dims()).asLongStream().toArray(), t[lane]))
                throw new OnnxError("node '" + hint + "'", "cannot express the reshape of " + x.shape[lane] + " to " + Arrays.toString(t[lane]) + " independently of the batch size");
        return y;
    }

    private void transpose(NodeProto n) {
        Val x = act(n, 0);
        int r = x.rank();
        long[] p = attrInts(n, "perm");
        List<Integer> perm = new ArrayList<>();
        if (p == null) for (int i = r - 1; i >= 0; i--) perm.add(i);
        else for (long v : p) perm.add((int) v);
        boolean swapLast = r >= 2 && perm.size() == r;
        for (int i = 0; i < r && swapLast; i++) swapLast = perm.get(i) == (i == r - 2 ? r - 1 : i == r - 1 ? r - 2 : i);
        NodeProto mm = soleConsumer(n.getOutput(0), "MatMul");
        if (swapLast && mm != null && mm.getInput(1).equals(n.getOutput(0)) && !mm.getInput(0).equals(n.getOutput(0))) {
            // q @ k^T: MatMul reads the transpose directly (transposeB), as PyTorch does without a copy
            Shape[] s = new Shape[LANES];
            for (int lane = 0; lane < LANES; lane++) s[lane] = new Transpose(perm).inferShapes(List.of(x.shape[lane])).get(0);
            Val pending = Val.act("<pending transpose of " + x.ref + ">", s, x.dtype);
            pending.transposeOf = x;
            pendingTransposes.put(pending, new Object[]{hint(n), perm});
            put(n, 0, pending);
            return;
        }
        put(n, 0, emit1(n, new Transpose(perm), List.of(x)));
    }

    private final Map<Val, Object[]> pendingTransposes = new IdentityHashMap<>();

    @SuppressWarnings("unchecked")
    private Val materialize(Val pending) {
        Object[] info = pendingTransposes.get(pending);
        return emit((String) info[0], new Transpose((List<Integer>) info[1]), List.of(pending.transposeOf)).get(0);
    }

    private void squeeze(NodeProto n) {
        Val x = act(n, 0);
        boolean unsq = n.getOpType().equals("Unsqueeze");
        long[] axes = axesOf(n, 13, 1);
        long[][] t = new long[LANES][];
        for (int lane = 0; lane < LANES; lane++) {
            int[] d = x.shape[lane].dims();
            if (unsq) {
                if (axes == null) throw new OnnxError(where(n), "Unsqueeze needs axes");
                int r = d.length + axes.length;
                boolean[] ins = new boolean[r];
                for (long a : axes) ins[(int) (a < 0 ? a + r : a)] = true;
                long[] out = new long[r];
                for (int i = 0, j = 0; i < r; i++) out[i] = ins[i] ? 1 : d[j++];
                t[lane] = out;
            } else {
                boolean[] drop = new boolean[d.length];
                if (axes == null || axes.length == 0) for (int i = 0; i < d.length; i++) drop[i] = d[i] == 1;
                else for (long a : axes) {
                    int ax = (int) (a < 0 ? a + d.length : a);
                    if (d[ax] != 1) throw new OnnxError(where(n), "cannot squeeze axis " + a + " of " + x.shape[lane] + ": it is not 1");
                    drop[ax] = true;
                }
                List<Long> out = new ArrayList<>();
                for (int i = 0; i < d.length; i++) if (!drop[i]) out.add((long) d[i]);
                t[lane] = out.stream().mapToLong(Long::longValue).toArray();
            }
        }
        put(n, 0, reshapeTo(hint(n), x, t));
    }

    private void gather(NodeProto n) {
        Val data = in(n, 0), idx = in(n, 1);
        int axis = (int) attrInt(n, "axis", 0);
        if (data.isConst() && idx.isAct()) {
            if (data.c.shape.length != 2 || axis != 0) throw new Unsupported("Gather (constant table of rank " + data.c.shape.length + ")", null);
            put(n, 0, emit1(n, new Embedding(data.c.shape[0], data.c.shape[1]), List.of(idx), new Weight("weight", data.c)));
            return;
        }
        if (data.isAct() && idx.isConst()) {
            int ax = axis < 0 ? axis + data.rank() : axis;
            long[] ix = ints(n, 1, "indices");
            if (ix.length != 1) throw new Unsupported("Gather (several indices)", null);
            int dim = data.shape[0].dim(ax);
            if (data.shape[1].dim(ax) != dim) throw new Unsupported("Gather (batch axis)", null);
            int i = (int) (ix[0] < 0 ? ix[0] + dim : ix[0]);
            Val y = emit(hint(n), new memplan.ops.Slice(ax, i, i + 1), List.of(data)).get(0);
            if (idx.c.shape.length == 0) { // a scalar index drops the axis
                long[][] t = new long[LANES][];
                for (int lane = 0; lane < LANES; lane++) {
                    List<Long> d = new ArrayList<>();
                    for (int k = 0; k < y.rank(); k++) if (k != ax) d.add((long) y.shape[lane].dim(k));
                    t[lane] = d.stream().mapToLong(Long::longValue).toArray();
                }
                y = reshapeTo(hint(n) + "/squeeze", y, t);
            }
            put(n, 0, y);
            return;
        }
        throw new Unsupported("Gather (computed indices)", "both operands are computed tensors");
    }

    private void resize(NodeProto n) {
        Val x = act(n, 0);
        if (x.rank() != 4) throw new Unsupported(n.getOpType() + " (rank " + x.rank() + ")", null);
        double[] scales = null;
        boolean upsample = n.getOpType().equals("Upsample");
        Val.Const sc = null, sz = null;
        if (upsample) {
            if (n.getInputCount() > 1) sc = cst(n, 1, "scales");
            else if (attr(n, "scales") != null) scales = attr(n, "scales").getFloatsList().stream().mapToDouble(Float::doubleValue).toArray();
        } else if (opset < 11) sc = cst(n, 1, "scales");
        else {
            if (in(n, 2) != null) sc = cst(n, 2, "scales");
            if (in(n, 3) != null) sz = cst(n, 3, "sizes");
        }
        if (sc != null && sc.numel() > 0) scales = values(n, sc, 0, "scales").v();
        else if (sz != null) {
            double[] s = values(n, sz, 0, "sizes").v();
            if (s.length != 4) throw new Unsupported(n.getOpType() + " (sizes for some axes)", null);
            scales = new double[4];
            for (int i = 0; i < 4; i++) scales[i] = s[i] / x.shape[0].dim(i);
            scales[0] = 1;
        }
        if (scales == null || scales.length != 4) throw new OnnxError(where(n), "needs 4 scales or sizes");
        double f = scales[2];
        if (scales[0] != 1 || scales[1] != 1 || scales[3] != f || f < 1 || Math.abs(f - Math.rint(f)) > 1e-6)
            throw new Unsupported(n.getOpType() + " (non-integer or unequal scale)", "scales " + Arrays.toString(scales)
                    + ": MemPlan models an equal integer scale of height and width");
        // nearest and (bi)linear modes have the same output and save nothing for backward: one op for both
        put(n, 0, emit1(n, new Upsample((int) Math.rint(f)), List.of(x)));
    }

    private void pad(NodeProto n) {
        Val x = act(n, 0);
        long[] pads = opset < 11 ? attrInts(n, "pads") : ints(n, 1, "pads");
        String mode = attrString(n, "mode", "constant");
        if (!List.of("constant", "reflect", "edge").contains(mode)) throw new Unsupported("Pad (mode " + mode + ")", null);
        int r = x.rank();
        long[] axes = n.getInputCount() > 3 ? ints(n, 3, "axes") : null;
        int[] full = new int[2 * r];
        if (axes != null) {
            for (int i = 0; i < axes.length; i++) {
                int ax = (int) (axes[i] < 0 ? axes[i] + r : axes[i]);
                full[ax] = (int) pads[i];
                full[ax + r] = (int) pads[i + axes.length];
            }
        } else {
            if (pads.length != 2 * r) throw new OnnxError(where(n), "needs " + 2 * r + " pads, got " + pads.length);
            full = toInts(pads);
        }
        if (Arrays.stream(full).allMatch(v -> v == 0)) {
            put(n, 0, x);
            return;
        }
        put(n, 0, emit1(n, new Pad(Arrays.stream(full).boxed().toList(), mode), List.of(x)));
    }

    // ---------------------------------------------------------------- patterns

    private Double constScalar(String tensor) {
        Val v = vals.get(tensor);
        if (v == null || !v.isConst() || v.c.numel() != 1) return null;
        Arr a = v.c.lane(0);
        return a == null ? null : a.v()[0];
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

    /**
     * GELU as exported before opset 20: Div(x, sqrt 2) (or Mul(x, 1/sqrt 2)) -> Erf -> Add 1 -> Mul x -> Mul 0.5
     * (the last two in either order). Becomes one GELU op, as in the framework the model came from.
     */
    private boolean gelu(NodeProto n) {
        if (n.getInputCount() != 2) return false;
        Val x = vals.get(n.getInput(0));
        if (x == null || !x.isAct()) return false;
        Double c = constScalar(n.getInput(1));
        if (!(n.getOpType().equals("Div") ? near(c, Math.sqrt(2)) : near(c, Math.sqrt(0.5)))) return false;
        NodeProto erf = soleConsumer(n.getOutput(0), "Erf");
        if (erf == null) return false;
        NodeProto add = soleConsumer(erf.getOutput(0), "Add");
        if (add == null || !near(constScalar(other(add, erf.getOutput(0))), 1)) return false;
        NodeProto m1 = soleConsumer(add.getOutput(0), "Mul");
        if (m1 == null) return false;
        String o1 = other(m1, add.getOutput(0));
        NodeProto m2 = soleConsumer(m1.getOutput(0), "Mul");
        if (m2 == null || o1 == null) return false;
        String o2 = other(m2, m1.getOutput(0));
        boolean ok = o1.equals(n.getInput(0)) && near(constScalar(o2), 0.5) || near(constScalar(o1), 0.5) && n.getInput(0).equals(o2);
        if (!ok) return false;
        Val y = emit1(n, new GELU(), List.of(x));
        skip.addAll(List.of(erf, add, m1, m2));
        put(m2, 0, y);
        return true;
    }

    private long[] reduceAxes(NodeProto r) {
        if (opset < 18) return attrInts(r, "axes");
        if (r.getInputCount() < 2) return null;
        Val v = vals.get(r.getInput(1));
        if (v == null || !v.isConst() || v.c.lane(0) == null) return null;
        return v.c.lane(0).longs();
    }

    private boolean lastAxisOnly(NodeProto r, int rank) {
        long[] a = reduceAxes(r);
        return a != null && a.length == 1 && (a[0] == -1 || a[0] == rank - 1) && attrInt(r, "keepdims", 1) != 0;
    }

    /**
     * LayerNorm as exported before opset 17: mean = ReduceMean(x); d = x - mean; var = ReduceMean(d^2);
     * y = d / Sqrt(var + eps) * gamma + beta (over the last axis). Becomes one LayerNorm with gamma and beta as its
     * weight and bias; without both the pieces are converted one by one.
     */
    private boolean layerNormPattern(NodeProto r1) {
        Val x = vals.get(r1.getInput(0));
        if (x == null || !x.isAct() || !lastAxisOnly(r1, x.rank())) return false;
        NodeProto sub = soleConsumer(r1.getOutput(0), "Sub");
        if (sub == null || !sub.getInput(0).equals(r1.getInput(0)) || !sub.getInput(1).equals(r1.getOutput(0))) return false;
        String d = sub.getOutput(0);
        List<NodeProto> dc = consumers.getOrDefault(d, List.of());
        if (dc.size() != 2 || graphOutputs.contains(d)) return false;
        NodeProto sq = null, div = null;
        for (NodeProto c : dc) {
            if (c.getOpType().equals("Pow") && c.getInput(0).equals(d) && near(constScalar(c.getInput(1)), 2)) sq = c;
            else if (c.getOpType().equals("Mul") && c.getInput(0).equals(d) && c.getInput(1).equals(d)) sq = c;
            else if (c.getOpType().equals("Div") && c.getInput(0).equals(d)) div = c;
        }
        if (sq == null || div == null) return false;
        NodeProto r2 = soleConsumer(sq.getOutput(0), "ReduceMean");
        if (r2 == null || !lastAxisOnly(r2, x.rank())) return false;
        NodeProto addEps = soleConsumer(r2.getOutput(0), "Add");
        if (addEps == null) return false;
        Double eps = constScalar(other(addEps, r2.getOutput(0)));
        NodeProto sqrt = soleConsumer(addEps.getOutput(0), "Sqrt");
        if (eps == null || sqrt == null || !div.getInput(1).equals(sqrt.getOutput(0))) return false;
        NodeProto mul = soleConsumer(div.getOutput(0), "Mul");
        if (mul == null) return false;
        Val gamma = vals.get(other(mul, div.getOutput(0)));
        NodeProto add = soleConsumer(mul.getOutput(0), "Add");
        if (add == null) return false;
        Val beta = vals.get(other(add, mul.getOutput(0)));
        int dim = x.shape[0].dim(-1);
        if (gamma == null || beta == null || !gamma.isConst() || !beta.isConst() || gamma.c.numel() != dim || beta.c.numel() != dim) return false;
        Val y = emit1(r1, new LayerNorm(shortest(eps)), List.of(x), new Weight("weight", gamma.c), new Weight("bias", beta.c));
        skip.addAll(List.of(sub, sq, r2, addEps, sqrt, div, mul, add));
        put(add, 0, y);
        return true;
    }

    // ---------------------------------------------------------------- constants and folding

    private Val.Const constantNode(NodeProto n) {
        for (AttributeProto a : n.getAttributeList()) {
            switch (a.getName()) {
                case "value" -> {
                    TensorProto t = a.getT();
                    String where = where(n);
                    int[] dims = OnnxTensor.dims(t, where);
                    return new Val.Const(dims, null, () -> OnnxTensor.decode(t, modelDir, where), OnnxTensor.isFloating(t.getDataType()), null, true);
                }
                case "value_float" -> { return Val.Const.same(Arr.scalar(a.getF()), true); }
                case "value_int" -> { return Val.Const.same(Arr.scalar(a.getI()), false); }
                case "value_floats" -> { return Val.Const.same(Arr.vector(a.getFloatsList().stream().mapToDouble(Float::doubleValue).toArray()), true); }
                case "value_ints" -> { return Val.Const.same(Arr.vector(a.getIntsList().stream().mapToDouble(Long::doubleValue).toArray()), false); }
                default -> { }
            }
        }
        throw new Unsupported("Constant (" + (n.getAttributeCount() == 0 ? "no value" : n.getAttribute(0).getName()) + ")", null);
    }

    private void shapeOf(NodeProto n) {
        Val x = in(n, 0);
        if (x.isConst()) {
            int[] d = x.c.shape;
            Arr a = n.getOpType().equals("Size") ? Arr.scalar(OnnxTensor.numel(d)) : Arr.vector(Arrays.stream(d).asDoubleStream().toArray());
            put(n, 0, Val.constant(Val.Const.same(a, false)));
            return;
        }
        Arr[] lanes = new Arr[LANES];
        for (int lane = 0; lane < LANES; lane++) {
            int[] d = x.shape[lane].dims();
            if (n.getOpType().equals("Size")) lanes[lane] = Arr.scalar(x.shape[lane].numel());
            else {
                int r = d.length;
                int start = (int) attrInt(n, "start", 0), end = (int) attrInt(n, "end", r);
                start = (int) clampIndex(start, r);
                end = (int) clampIndex(end, r);
                lanes[lane] = Arr.vector(Arrays.stream(Arrays.copyOfRange(d, start, Math.max(start, end))).asDoubleStream().toArray());
            }
        }
        put(n, 0, Val.constant(Val.Const.of(lanes[0], lanes[1], false)));
    }

    private void fold(NodeProto n) {
        String op = n.getOpType();
        Val.Const c0 = in(n, 0).c;
        if ((op.equals("Gather") || op.equals("Slice")) && c0.lane(0) == null) {
            // rows of a large table with constant indices (a positional embedding cut to the sequence): known by shape
            int[] d = c0.shape;
            int[] s;
            if (op.equals("Gather")) {
                int axis = (int) attrInt(n, "axis", 0);
                if (axis < 0) axis += d.length;
                int[] ix = in(n, 1).c.shape;
                s = new int[d.length - 1 + ix.length];
                System.arraycopy(d, 0, s, 0, axis);
                System.arraycopy(ix, 0, s, axis, ix.length);
                System.arraycopy(d, axis + 1, s, axis + ix.length, d.length - axis - 1);
            } else {
                long[] st = ints(n, 1, "starts"), en = ints(n, 2, "ends");
                long[] ax = n.getInputCount() > 3 && !n.getInput(3).isEmpty() ? ints(n, 3, "axes") : null;
                long[] sp = n.getInputCount() > 4 && !n.getInput(4).isEmpty() ? ints(n, 4, "steps") : null;
                s = d.clone();
                for (int i = 0; i < st.length; i++) {
                    int a = (int) (ax == null ? i : ax[i] < 0 ? ax[i] + d.length : ax[i]);
                    if (sp != null && sp[i] != 1) throw new Unsupported("Slice (step " + sp[i] + ")", null);
                    s[a] = (int) Math.max(0, clampIndex(en[i], d[a]) - clampIndex(st[i], d[a]));
                }
            }
            put(n, 0, Val.constant(new Val.Const(s, null, null, c0.floating, c0.initializer, c0.constantNode)));
            return;
        }
        // Ops that only move a tensor keep it known by shape even when its values are too large to decode.
        if (Set.of("Identity", "Cast", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Flatten").contains(op) && c0.lane(0) == null) {
            int[] s = foldLane(n, 0, true).shape();
            boolean fl = op.equals("Cast") ? OnnxTensor.isFloating((int) attrInt(n, "to", 1)) : c0.floating;
            Val.Const r = new Val.Const(s, null, null, fl, c0.initializer, c0.constantNode);
            put(n, 0, Val.constant(r));
            return;
        }
        Arr a0 = foldLane(n, 0, false), a1 = foldLane(n, 1, false);
        if (!Arrays.equals(a0.shape(), a1.shape()))
            throw new OnnxError(where(n), "a constant whose shape depends on the batch size (" + Arrays.toString(a0.shape())
                    + " vs " + Arrays.toString(a1.shape()) + ") is not supported");
        boolean floating = switch (op) {
            case "Cast" -> OnnxTensor.isFloating((int) attrInt(n, "to", 1));
            case "Equal", "Less", "Greater", "Not" -> false;
            case "ConstantOfShape" -> attr(n, "value") == null || OnnxTensor.isFloating(attr(n, "value").getT().getDataType());
            case "Range" -> c0.floating;
            default -> {
                boolean f = false;
                for (int k = 0; k < n.getInputCount(); k++) if (!n.getInput(k).isEmpty() && (op.equals("Where") ? k > 0 : true)) f |= in(n, k).c.floating;
                yield f;
            }
        };
        Val.Const c = new Val.Const(a0.shape(), new Arr[]{a0, a1}, null, floating,
                Set.of("Identity", "Cast", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Flatten", "Gather", "Slice").contains(op)
                        ? c0.initializer : null, c0.constantNode);
        put(n, 0, Val.constant(c));
    }

    /** Folds node n in one lane; with shapeOnly, value-free ops return a placeholder of the right shape. */
    private Arr foldLane(NodeProto n, int lane, boolean shapeOnly) {
        String op = n.getOpType();
        IntFunction<Arr> arg = k -> {
            Val.Const c = in(n, k).c;
            if (shapeOnly) return new Arr(c.shape, new double[(int) Math.min(c.numel(), 1)]);
            return values(n, c, lane, "input " + k);
        };
        Arr x = arg.apply(0);
        switch (op) {
            case "Identity", "Cast" -> {
                if (op.equals("Cast") && !OnnxTensor.isFloating((int) attrInt(n, "to", 1)) && !shapeOnly) {
                    double[] v = x.v().clone();
                    for (int i = 0; i < v.length; i++) v[i] = v[i] < 0 ? Math.ceil(v[i]) : Math.floor(v[i]);
                    return new Arr(x.shape(), v);
                }
                return x;
            }
            case "Reshape" -> {
                long[] sp = values(n, in(n, 1).c, lane, "target shape").longs();
                long[] t = resolveReshape(new Shape(x.shape()), sp, attrInt(n, "allowzero", 0) != 0);
                if (t == null) throw new OnnxError(where(n), "cannot reshape " + Arrays.toString(x.shape()) + " to " + Arrays.toString(sp));
                int[] s = toInts(t);
                return shapeOnly ? new Arr(s, x.v()) : x.reshape(s);
            }
            case "Flatten" -> {
                int axis = (int) attrInt(n, "axis", 1);
                if (axis < 0) axis += x.rank();
                Shape s = new Shape(x.shape());
                int[] t = {(int) s.numel(0, axis), (int) s.numel(axis, s.rank())};
                return shapeOnly ? new Arr(t, x.v()) : x.reshape(t);
            }
            case "Transpose" -> {
                long[] p = attrInts(n, "perm");
                int[] perm = new int[x.rank()];
                for (int i = 0; i < perm.length; i++) perm[i] = p == null ? perm.length - 1 - i : (int) p[i];
                if (shapeOnly) {
                    int[] s = new int[perm.length];
                    for (int i = 0; i < s.length; i++) s[i] = x.shape()[perm[i]];
                    return new Arr(s, x.v());
                }
                return Arr.transpose(x, perm);
            }
            case "Unsqueeze", "Squeeze" -> {
                long[] axes = opset < 13 ? attrInts(n, "axes") : n.getInputCount() > 1 && !n.getInput(1).isEmpty()
                        ? values(n, in(n, 1).c, lane, "axes").longs() : null;
                int[] d = x.shape();
                List<Integer> out = new ArrayList<>();
                if (op.equals("Unsqueeze")) {
                    int r = d.length + axes.length;
                    boolean[] ins = new boolean[r];
                    for (long a : axes) ins[(int) (a < 0 ? a + r : a)] = true;
                    for (int i = 0, j = 0; i < r; i++) out.add(ins[i] ? 1 : d[j++]);
                } else {
                    Set<Integer> drop = new HashSet<>();
                    if (axes == null || axes.length == 0) for (int i = 0; i < d.length; i++) { if (d[i] == 1) drop.add(i); }
                    else for (long a : axes) drop.add((int) (a < 0 ? a + d.length : a));
                    for (int i = 0; i < d.length; i++) if (!drop.contains(i)) out.add(d[i]);
                }
                int[] s = out.stream().mapToInt(Integer::intValue).toArray();
                return shapeOnly ? new Arr(s, x.v()) : x.reshape(s);
            }
            case "Gather" -> {
                int axis = (int) attrInt(n, "axis", 0);
                return Arr.gather(x, arg.apply(1), axis < 0 ? axis + x.rank() : axis);
            }
            case "Concat" -> {
                List<Arr> parts = new ArrayList<>();
                for (int k = 0; k < n.getInputCount(); k++) if (!n.getInput(k).isEmpty()) parts.add(arg.apply(k));
                int axis = (int) attrInt(n, "axis", 0);
                return Arr.concat(parts, axis < 0 ? axis + x.rank() : axis);
            }
            case "Slice" -> {
                long[] s = arg.apply(1).longs(), e = arg.apply(2).longs();
                long[] a = n.getInputCount() > 3 && !n.getInput(3).isEmpty() ? arg.apply(3).longs() : null;
                long[] st = n.getInputCount() > 4 && !n.getInput(4).isEmpty() ? arg.apply(4).longs() : null;
                int[] axes = new int[s.length], lo = new int[s.length], hi = new int[s.length], steps = new int[s.length];
                for (int i = 0; i < s.length; i++) {
                    axes[i] = (int) (a == null ? i : a[i] < 0 ? a[i] + x.rank() : a[i]);
                    steps[i] = st == null ? 1 : (int) st[i];
                    int dim = x.shape()[axes[i]];
                    if (steps[i] > 0) {
                        lo[i] = (int) clampIndex(s[i], dim);
                        hi[i] = (int) clampIndex(e[i], dim);
                    } else {
                        lo[i] = (int) Math.max(-1, Math.min(dim - 1, s[i] < 0 ? s[i] + dim : s[i]));
                        hi[i] = (int) Math.max(-1, Math.min(dim - 1, e[i] < 0 ? e[i] + dim : e[i]));
                    }
                }
                return Arr.slice(x, lo, hi, axes, steps);
            }
            case "Add" -> { return Arr.binary(x, arg.apply(1), Double::sum); }
            case "Sub" -> { return Arr.binary(x, arg.apply(1), (p, q) -> p - q); }
            case "Mul" -> { return Arr.binary(x, arg.apply(1), (p, q) -> p * q); }
            case "Div" -> {
                boolean integer = !in(n, 0).c.floating && !in(n, 1).c.floating;
                return Arr.binary(x, arg.apply(1), (p, q) -> integer ? Math.floor(p / q) : p / q);
            }
            case "Mod" -> { return Arr.binary(x, arg.apply(1), (p, q) -> p - Math.floor(p / q) * q); }
            case "Pow" -> { return Arr.binary(x, arg.apply(1), Math::pow); }
            case "Min" -> { return Arr.binary(x, arg.apply(1), Math::min); }
            case "Max" -> { return Arr.binary(x, arg.apply(1), Math::max); }
            case "Equal" -> { return Arr.binary(x, arg.apply(1), (p, q) -> p == q ? 1 : 0); }
            case "Less" -> { return Arr.binary(x, arg.apply(1), (p, q) -> p < q ? 1 : 0); }
            case "Greater" -> { return Arr.binary(x, arg.apply(1), (p, q) -> p > q ? 1 : 0); }
            case "Where" -> { return Arr.where(x, arg.apply(1), arg.apply(2)); }
            case "Sqrt", "Neg", "Floor", "Ceil", "Abs", "Not", "Reciprocal" -> {
                double[] v = x.v().clone();
                for (int i = 0; i < v.length; i++)
                    v[i] = switch (op) {
                        case "Sqrt" -> Math.sqrt(v[i]);
                        case "Neg" -> -v[i];
                        case "Floor" -> Math.floor(v[i]);
                        case "Ceil" -> Math.ceil(v[i]);
                        case "Abs" -> Math.abs(v[i]);
                        case "Reciprocal" -> 1 / v[i];
                        default -> v[i] == 0 ? 1 : 0;
                    };
                return new Arr(x.shape(), v);
            }
            case "Range" -> {
                double start = x.v()[0], limit = arg.apply(1).v()[0], delta = arg.apply(2).v()[0];
                int count = (int) Math.max(0, Math.ceil((limit - start) / delta));
                double[] v = new double[count];
                for (int i = 0; i < count; i++) v[i] = start + i * delta;
                return Arr.vector(v);
            }
            case "Expand" -> {
                int[] target = toInts(arg.apply(1).longs());
                return Arr.expand(x, Arr.broadcastShape(x.shape(), target));
            }
            case "ConstantOfShape" -> {
                int[] s = toInts(x.longs());
                double value = 0;
                AttributeProto a = attr(n, "value");
                if (a != null) {
                    double[] v = OnnxTensor.decode(a.getT(), modelDir, where(n));
                    if (v != null && v.length > 0) value = v[0];
                }
                if (Arr.numel(s) > OnnxTensor.MAX_DECODE) throw new OnnxError(where(n), "constant of shape " + Arrays.toString(s) + " is too large to fold");
                double[] v = new double[Arr.numel(s)];
                Arrays.fill(v, value);
                return new Arr(s, v);
            }
            default -> throw new Unsupported(op + " (constant folding)", null);
        }
    }
}

package memplan.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.DType;
import memplan.ops.Add;
import memplan.ops.Attention;
import memplan.ops.AvgPool2d;
import memplan.ops.BatchNorm2d;
import memplan.ops.Cast;
import memplan.ops.Clip;
import memplan.ops.Concat;
import memplan.ops.ConstElementwise;
import memplan.ops.Conv2d;
import memplan.ops.ConvTranspose2d;
import memplan.ops.ConvTranspose3d;
import memplan.ops.Flip;
import memplan.ops.Resize;
import memplan.ops.CrossEntropy;
import memplan.ops.Div;
import memplan.ops.Dropout;
import memplan.ops.Embedding;
import memplan.ops.Flatten;
import memplan.ops.GELU;
import memplan.ops.GlobalAvgPool;
import memplan.ops.HardSigmoid;
import memplan.ops.HardSwish;
import memplan.ops.Fill;
import memplan.ops.Input;
import memplan.ops.LSTMCell;
import memplan.ops.LayerNorm;
import memplan.ops.RMSNorm;
import memplan.ops.GatedActivation;
import memplan.ops.RotaryEmbedding;
import memplan.ops.LeakyReLU;
import memplan.ops.Linear;
import memplan.ops.Compare;
import memplan.ops.CumSum;
import memplan.ops.TopK;
import memplan.ops.ScatterND;
import memplan.ops.MaskedFill;
import memplan.ops.MatMul;
import memplan.ops.MaxPool2d;
import memplan.ops.MseLoss;
import memplan.ops.Mish;
import memplan.ops.SiLU;
import memplan.ops.Mul;
import memplan.ops.Op;
import memplan.ops.OpType;
import memplan.ops.OpVisitor;
import memplan.ops.Opaque;
import memplan.ops.Pad;
import memplan.ops.Pair;
import memplan.ops.Triple;
import memplan.ops.Conv3d;
import memplan.ops.GroupNorm;
import memplan.ops.MaxPool3d;
import memplan.ops.AvgPool3d;
import memplan.ops.Pow;
import memplan.ops.ReLU;
import memplan.ops.ReduceMean;
import memplan.ops.Reshape;
import memplan.ops.Sigmoid;
import memplan.ops.Slice;
import memplan.ops.Softmax;
import memplan.ops.Split;
import memplan.ops.Sqrt;
import memplan.ops.Sub;
import memplan.ops.Tanh;
import memplan.ops.Transpose;
import memplan.ops.Upsample;

import java.util.List;

/**
 * The JSON form of every op, in one place: which attributes each op takes ({@link #fields}), how they are read
 * ({@link #read}) and written ({@link #write}). Reading switches over {@link OpType} and writing is an
 * {@link OpVisitor}, so the compiler names this codec when an op is added without its JSON form.
 */
public final class OpJson {
    private OpJson() {
    }

    /**
     * The op type a model file's "op" names, or null when none does; BroadcastAdd and BroadcastMul, which older
     * files name, are read as the broadcasting Add and Mul.
     */
    public static OpType typeOf(String name) {
        if (name.equals("BroadcastAdd")) return OpType.Add;
        if (name.equals("BroadcastMul")) return OpType.Mul;
        return OpType.of(name);
    }


    /** The attribute names an op takes besides the layer's own keys (name, op, inputs, tie). */
    public static List<String> fields(OpType t) {
        return switch (t) {
            case Input -> List.of("shape", "dtype");
            case Conv2d -> List.of("out", "kernel", "stride", "padding", "dilation", "groups", "bias");
            case ConvTranspose2d -> List.of("out", "kernel", "stride", "padding", "outputPadding", "dilation", "groups",
                    "bias");
            case Linear -> List.of("out", "bias");
            case MatMul -> List.of("transposeB");
            case BatchNorm2d -> List.of("eps", "momentum");
            case LayerNorm -> List.of("eps");
            case GroupNorm -> List.of("groups", "eps", "affine");
            case MaxPool2d, AvgPool2d, MaxPool3d, AvgPool3d -> List.of("kernel", "stride", "padding");
            case Conv3d -> List.of("out", "kernel", "stride", "padding", "dilation", "groups", "bias");
            case Concat -> List.of("axis");
            case Flatten -> List.of("startDim");
            case Reshape -> List.of("shape");
            case Transpose -> List.of("perm");
            case Dropout -> List.of("p");
            case Embedding -> List.of("num", "dim");
            case Attention -> List.of("heads", "kvHeads", "causal", "form");
            case RMSNorm -> List.of("eps");
            case GatedActivation -> List.of("gate");
            case RotaryEmbedding -> List.of("headDim", "theta");
            case LSTMCell -> List.of("hidden");
            case CrossEntropy -> List.of("classAxis");
            case Upsample -> List.of("scale");
            case Slice -> List.of("axis", "start", "end");
            case LeakyReLU -> List.of("slope");
            case HardSigmoid -> List.of("alpha", "beta");
            case Clip -> List.of("min", "max");
            case Cast -> List.of("to");
            case Compare -> List.of("relation", "value", "shape");
            case CumSum -> List.of("axis", "exclusive", "reverse");
            case TopK -> List.of("axis", "k", "largest", "sorted");
            case ScatterND -> List.of("reduction");
            case ConstElementwise -> List.of("fn", "shape", "value", "reversed", "trainable");
            case ReduceMean -> List.of("axes", "keepDims");
            case Split -> List.of("axis", "sizes");
            case Pad -> List.of("pads", "mode");
            case Opaque -> List.of("source", "arity", "outputs", "bound", "limit");
            case MaskedFill -> List.of("maskShape", "value", "keepWhereTrue");
            case Fill -> List.of("shape", "value", "dtype");
            case ConvTranspose3d -> List.of("out", "kernel", "stride", "padding", "outputPadding", "dilation", "groups",
                    "bias");
            case Resize -> List.of("sizes", "scales", "mode", "coordinates", "nearest", "cubicA", "excludeOutside");
            case Flip -> List.of("axes");
            case ReLU, GELU, Sigmoid, Tanh, HardSwish, Mish, SiLU, Sqrt, Add, Mul, Sub, Div,
                    Pow, GlobalAvgPool, Softmax,
                    MseLoss -> List.of();
        };
    }

    /** Builds the op of type {@code t} from a layer's attributes; errors name the JSON path and field. */
    public static Op read(OpType t, OpArgs a) {
        return switch (t) {
            case Input -> new Input(a.requireDimList("shape"), dtype(a, "dtype",
                    "float, fp32, fp16, bf16, int64, int32"));
            case Conv2d -> new Conv2d(a.requireInt("out"), a.requirePair("kernel"), a.optPair("stride", Pair.of(1)),
                    a.optPair("padding", Pair.of(0)), a.optPair("dilation", Pair.of(1)), a.optInt("groups", 1),
                    a.optBool("bias", true));
            case ConvTranspose2d -> new ConvTranspose2d(a.requireInt("out"), a.requirePair("kernel"),
                    a.optPair("stride", Pair.of(1)), a.optPair("padding", Pair.of(0)),
                    a.optPair("outputPadding", Pair.of(0)), a.optPair("dilation", Pair.of(1)),
                    a.optInt("groups", 1), a.optBool("bias", true));
            case Linear -> new Linear(a.requireInt("out"), a.optBool("bias", true));
            case MatMul -> new MatMul(a.optBool("transposeB", false));
            case BatchNorm2d -> new BatchNorm2d(a.optDouble("eps", 1e-5), a.optDouble("momentum", 0.1));
            case LayerNorm -> new LayerNorm(a.optDouble("eps", 1e-5));
            case GroupNorm -> new GroupNorm(a.requireInt("groups"), a.optDouble("eps", 1e-5),
                    a.optBool("affine", true));
            case Conv3d -> new Conv3d(a.requireInt("out"), a.requireTriple("kernel"),
                    a.optTriple("stride", Triple.of(1)), a.optTriple("padding", Triple.of(0)),
                    a.optTriple("dilation", Triple.of(1)), a.optInt("groups", 1), a.optBool("bias", true));
            case MaxPool3d -> {
                Triple k = a.requireTriple("kernel");
                yield new MaxPool3d(k, a.optTriple("stride", k), a.optTriple("padding", Triple.of(0)));
            }
            case AvgPool3d -> {
                Triple k = a.requireTriple("kernel");
                yield new AvgPool3d(k, a.optTriple("stride", k), a.optTriple("padding", Triple.of(0)));
            }
            case MaxPool2d -> {
                Pair k = a.requirePair("kernel");
                yield new MaxPool2d(k, a.optPair("stride", k), a.optPair("padding", Pair.of(0)));
            }
            case AvgPool2d -> {
                Pair k = a.requirePair("kernel");
                yield new AvgPool2d(k, a.optPair("stride", k), a.optPair("padding", Pair.of(0)));
            }
            case Concat -> new Concat(a.optInt("axis", 1));
            case Flatten -> new Flatten(a.optInt("startDim", 1));
            case Reshape -> new Reshape(a.requireIntList("shape"));
            case Transpose -> new Transpose(a.requireIntList("perm"));
            case Dropout -> {
                double p = a.optDouble("p", 0.5);
                if (p < 0 || p >= 1) throw a.invalid("p", "'p' must be in [0, 1), got " + p);
                yield new Dropout(p);
            }
            case Embedding -> new Embedding(a.requireInt("num"), a.requireInt("dim"));
            case Attention -> {
                int heads = a.requireInt("heads");
                String f = a.optString("form", "fused");
                Attention.Form form = Attention.Form.of(f);
                if (form == null) throw a.invalid("form", "'form' must be fused or eager, got " + f);
                yield new Attention(heads, a.optInt("kvHeads", heads), a.optBool("causal", false), form);
            }
            case RMSNorm -> new RMSNorm(a.optDouble("eps", 1e-6));
            case GatedActivation -> {
                String g = a.optString("gate", "silu");
                GatedActivation.Gate gate = GatedActivation.Gate.of(g);
                if (gate == null) throw a.invalid("gate", "'gate' must be silu or gelu, got " + g);
                yield new GatedActivation(gate);
            }
            case RotaryEmbedding -> new RotaryEmbedding(a.requireInt("headDim"), a.optDouble("theta", 10000));
            case LSTMCell -> new LSTMCell(a.requireInt("hidden"));
            case CrossEntropy -> new CrossEntropy(a.optInt("classAxis", 1));
            case Upsample -> {
                int s = a.optInt("scale", 2);
                if (s < 1) throw a.invalid("scale", "'scale' must be a positive integer, got " + s);
                yield new Upsample(s);
            }
            case Slice -> new Slice(a.requireInt("axis"), a.requireInt("start"), a.requireInt("end"));
            case LeakyReLU -> new LeakyReLU(a.optDouble("slope", 0.01));
            case HardSigmoid -> new HardSigmoid(a.optDouble("alpha", 0.2), a.optDouble("beta", 0.5));
            case Clip -> new Clip(a.optDouble("min", Double.NEGATIVE_INFINITY),
                    a.optDouble("max", Double.POSITIVE_INFINITY));
            case Cast -> new Cast(dtype(a, "to", "float, fp32, fp16, bf16, int64, int32, bool"));
            case Compare -> {
                String name = a.optString("relation", "");
                Compare.Relation r = Compare.Relation.of(name);
                if (r == null) throw a.invalid("relation", "'relation' must be equal, less, greater, and, or, xor "
                        + "or not, got '" + name + "'");
                if (r == Compare.Relation.NOT && (a.has("value") || a.has("shape")))
                    throw a.invalid(a.has("value") ? "value" : "shape", "'not' takes one input and no value");
                List<Integer> shape = a.has("shape") ? a.requireIntList("shape") : List.of();
                if (a.has("value") && !shape.isEmpty())
                    throw a.invalid("shape", "give either 'value' or 'shape' (a constant tensor), not both");
                for (int d : shape) if (d <= 0) throw a.invalid("shape", "'shape' must be positive, got " + shape);
                yield new Compare(r, a.has("value") ? a.optDouble("value", 0) : null, shape);
            }
            case ConstElementwise -> {
                String fn = a.optString("fn", null);
                if (fn == null || !ConstElementwise.FUNCTIONS.contains(fn))
                    throw a.invalid("fn", "'fn' must be one of " + ConstElementwise.FUNCTIONS + ", got " + fn);
                List<Integer> s = a.has("shape") ? a.requireIntList("shape") : List.of();
                yield new ConstElementwise(fn, s, a.optDouble("value", 0), a.optBool("reversed", false),
                        a.optBool("trainable", !s.isEmpty()));
            }
            case ReduceMean -> new ReduceMean(a.has("axes") ? a.requireIntList("axes") : List.of(),
                    a.optBool("keepDims", true));
            case CumSum -> new CumSum(a.requireInt("axis"), a.optBool("exclusive", false), a.optBool("reverse", false));
            case ScatterND -> {
                String r = a.optString("reduction", "none");
                if (!r.equals("none") && !r.equals("add"))
                    throw a.invalid("reduction", "'reduction' must be none or add, got '" + r + "'");
                yield new ScatterND(r.equals("add"));
            }
            case TopK -> {
                int k = a.requireInt("k");
                if (k < 1) throw a.invalid("k", "'k' must be at least 1, got " + k);
                yield new TopK(a.requireInt("axis"), k, a.optBool("largest", true), a.optBool("sorted", true));
            }
            case Split -> new Split(a.optInt("axis", 0), a.requireIntList("sizes"));
            case ConvTranspose3d -> new ConvTranspose3d(a.requireInt("out"), a.requireTriple("kernel"),
                    a.optTriple("stride", Triple.of(1)), a.optTriple("padding", Triple.of(0)),
                    a.optTriple("outputPadding", Triple.of(0)), a.optTriple("dilation", Triple.of(1)),
                    a.optInt("groups", 1), a.optBool("bias", true));
            case Resize -> {
                String mode = a.optString("mode", "nearest"), co = a.optString("coordinates", "half_pixel");
                String near = a.optString("nearest", "round_prefer_floor");
                if (!Resize.MODES.contains(mode))
                    throw a.invalid("mode", "'mode' must be nearest, linear or cubic, got " + mode);
                if (!Resize.COORDINATES.contains(co))
                    throw a.invalid("coordinates", "'coordinates' must be one of " + String.join(", ",
                            Resize.COORDINATES) + ", got " + co);
                if (!Resize.ROUNDINGS.contains(near))
                    throw a.invalid("nearest", "'nearest' must be one of " + String.join(", ", Resize.ROUNDINGS)
                            + ", got " + near);
                List<Integer> sizes = a.requireIntList("sizes");
                List<Double> scales = a.has("scales") ? a.requireDoubleList("scales") : List.of();
                if (sizes.isEmpty() || sizes.size() > 3 || sizes.stream().anyMatch(v -> v <= 0))
                    throw a.invalid("sizes", "'sizes' must be 1 to 3 positive output sizes, got " + sizes);
                if (!scales.isEmpty() && (scales.size() != sizes.size()
                        || scales.stream().anyMatch(v -> !(v > 0) || v.isInfinite())))
                    throw a.invalid("scales", "'scales' must be " + sizes.size() + " positive numbers, got " + scales);
                yield new Resize(sizes, scales, mode, co, near, a.optDouble("cubicA", -0.75),
                        a.optBool("excludeOutside", false));
            }
            case Flip -> {
                List<Integer> axes = a.requireIntList("axes");
                if (axes.isEmpty()) throw a.invalid("axes", "'axes' must name at least one axis");
                yield new Flip(axes);
            }
            case Pad -> {
                String m = a.optString("mode", "constant");
                if (!List.of("constant", "reflect", "edge", "wrap").contains(m))
                    throw a.invalid("mode", "'mode' must be constant, reflect, edge or wrap, got " + m);
                yield new Pad(a.requireIntList("pads"), m);
            }
            case Opaque -> {
                int arity = a.optInt("arity", 1), outputs = a.optInt("outputs", 1);
                if (arity < 1 || arity > Opaque.MAX_INPUTS)
                    throw a.invalid("arity", "an Opaque op takes 1.." + Opaque.MAX_INPUTS
                            + " inputs (its outputs take input 0's shape), got " + arity);
                if (outputs < 1 || outputs > Opaque.MAX_OUTPUTS)
                    throw a.invalid("outputs", "an Opaque op has 1.." + Opaque.MAX_OUTPUTS
                            + " outputs, got " + outputs);
                String bn = a.optString("bound", "none");
                Opaque.Bound bound = Opaque.Bound.of(bn);
                if (bound == null) throw a.invalid("bound", "'bound' must be none, nonzero, nms or unique, got '"
                        + bn + "'");
                int limit = a.optInt("limit", 0);
                if (bound == Opaque.Bound.NMS && (arity < 2 || limit < 0))
                    throw a.invalid(arity < 2 ? "arity" : "limit", "an nms bound takes boxes and scores (arity 2 or "
                            + "more) and a limit of at least 0");
                yield new Opaque(a.optString("source", "unknown"), arity, outputs, bound, limit);
            }
            case Fill -> new Fill(a.requireDimList("shape"), a.optDouble("value", 0), dtype(a, "dtype",
                    "float, int64, int32, bool"));
            case MaskedFill -> new MaskedFill(a.has("maskShape") ? a.requireIntList("maskShape") : List.of(),
                    a.optDouble("value", 0), a.optBool("keepWhereTrue", true));
            case ReLU -> new ReLU();
            case GELU -> new GELU();
            case Sigmoid -> new Sigmoid();
            case Tanh -> new Tanh();
            case HardSwish -> new HardSwish();
            case Mish -> new Mish();
            case SiLU -> new SiLU();
            case Sqrt -> new Sqrt();
            case Add -> new Add();
            case Mul -> new Mul();
            case Sub -> new Sub();
            case Div -> new Div();
            case Pow -> new Pow();
            case GlobalAvgPool -> new GlobalAvgPool();
            case Softmax -> new Softmax();
            case MseLoss -> new MseLoss();
        };
    }

    /** "float" (or absent) = the model's floating type, written as null. */
    private static DType dtype(OpArgs a, String field, String choices) {
        String t = a.optString(field, "float");
        if (t.equals("float")) return null;
        DType d = DType.parse(t);
        if (d == null) throw a.invalid(field, "unknown dtype '" + t + "' (use " + choices + ")");
        return d;
    }

    /** The op's attributes as JSON (not "op", "name" or "inputs"); defaults are left out. */
    public static ObjectNode write(Op op) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        op.accept(new Writer(n));
        return n;
    }

    private static JsonNode pair(Pair p) {
        if (p.h() == p.w()) return JsonNodeFactory.instance.numberNode(p.h());
        return JsonNodeFactory.instance.arrayNode().add(p.h()).add(p.w());
    }

    private static JsonNode triple(Triple t) {
        if (t.d() == t.h() && t.h() == t.w()) return JsonNodeFactory.instance.numberNode(t.d());
        return JsonNodeFactory.instance.arrayNode().add(t.d()).add(t.h()).add(t.w());
    }

    private static void ints(ObjectNode n, String field, List<Integer> values) {
        var a = n.putArray(field);
        values.forEach(a::add);
    }

    /** Writes one op's attributes into {@code n}; returns nothing (the visitor's result type is unused). */
    private record Writer(ObjectNode n) implements OpVisitor<Void> {
        @Override public Void visit(ReLU op) { return null; }
        @Override public Void visit(GELU op) { return null; }
        @Override public Void visit(Sigmoid op) { return null; }
        @Override public Void visit(Tanh op) { return null; }
        @Override public Void visit(HardSwish op) { return null; }
        @Override public Void visit(Mish op) { return null; }
        @Override public Void visit(SiLU op) { return null; }
        @Override public Void visit(Sqrt op) { return null; }
        @Override public Void visit(Add op) { return null; }
        @Override public Void visit(Mul op) { return null; }
        @Override public Void visit(Sub op) { return null; }
        @Override public Void visit(Div op) { return null; }
        @Override public Void visit(Pow op) { return null; }
        @Override public Void visit(GlobalAvgPool op) { return null; }
        @Override public Void visit(Softmax op) { return null; }
        @Override public Void visit(MseLoss op) { return null; }

        @Override
        public Void visit(LeakyReLU op) {
            if (op.slope() != 0.01) n.put("slope", op.slope());
            return null;
        }

        @Override
        public Void visit(HardSigmoid op) {
            if (op.alpha() != 0.2) n.put("alpha", op.alpha());
            if (op.beta() != 0.5) n.put("beta", op.beta());
            return null;
        }

        @Override
        public Void visit(Clip op) {
            if (op.min() != Double.NEGATIVE_INFINITY) n.put("min", op.min());
            if (op.max() != Double.POSITIVE_INFINITY) n.put("max", op.max());
            return null;
        }

        @Override
        public Void visit(Cast op) {
            n.put("to", op.to() == null ? "float" : op.to().jsonName());
            return null;
        }

        @Override
        public Void visit(Compare op) {
            n.put("relation", op.relation().jsonName());
            if (op.value() != null) n.put("value", op.value());
            if (!op.constShape().isEmpty()) ints(n, "shape", op.constShape());
            return null;
        }

        @Override
        public Void visit(Dropout op) {
            n.put("p", op.p());
            return null;
        }

        @Override
        public Void visit(ConstElementwise op) {
            n.put("fn", op.fn());
            if (op.shape().isEmpty()) n.put("value", op.value());
            else {
                ints(n, "shape", op.shape());
                if (!op.trainable()) n.put("trainable", false);
            }
            if (op.reversed()) n.put("reversed", true);
            return null;
        }

        @Override
        public Void visit(MaskedFill op) {
            if (!op.maskShape().isEmpty()) ints(n, "maskShape", op.maskShape());
            n.put("value", op.value());
            if (!op.keepWhereTrue()) n.put("keepWhereTrue", false);
            return null;
        }

        @Override
        public Void visit(CumSum op) {
            n.put("axis", op.axis());
            if (op.exclusive()) n.put("exclusive", true);
            if (op.reverse()) n.put("reverse", true);
            return null;
        }

        @Override
        public Void visit(ScatterND op) {
            if (op.add()) n.put("reduction", "add");
            return null;
        }

        @Override
        public Void visit(TopK op) {
            n.put("axis", op.axis());
            n.put("k", op.k());
            if (!op.largest()) n.put("largest", false);
            if (!op.sorted()) n.put("sorted", false);
            return null;
        }

        @Override
        public Void visit(ReduceMean op) {
            if (!op.axes().isEmpty()) ints(n, "axes", op.axes());
            if (!op.keepDims()) n.put("keepDims", false);
            return null;
        }

        @Override
        public Void visit(Reshape op) {
            ints(n, "shape", op.shape());
            return null;
        }

        @Override
        public Void visit(Flatten op) {
            if (op.startDim() != 1) n.put("startDim", op.startDim());
            return null;
        }

        @Override
        public Void visit(Transpose op) {
            ints(n, "perm", op.perm());
            return null;
        }

        @Override
        public Void visit(Concat op) {
            n.put("axis", op.axis());
            return null;
        }

        @Override
        public Void visit(Slice op) {
            n.put("axis", op.axis());
            n.put("start", op.start());
            n.put("end", op.end());
            return null;
        }

        @Override
        public Void visit(Split op) {
            if (op.axis() != 0) n.put("axis", op.axis());
            ints(n, "sizes", op.sizes());
            return null;
        }

        @Override
        public Void visit(Pad op) {
            ints(n, "pads", op.pads());
            if (!op.mode().equals("constant")) n.put("mode", op.mode());
            return null;
        }

        @Override
        public Void visit(Upsample op) {
            if (op.scale() != 2) n.put("scale", op.scale());
            return null;
        }

        @Override
        public Void visit(Resize op) {
            ints(n, "sizes", op.sizes());
            if (!op.scales().isEmpty()) {
                var a = n.putArray("scales");
                op.scales().forEach(a::add);
            }
            if (!op.mode().equals("nearest")) n.put("mode", op.mode());
            if (!op.coordinates().equals("half_pixel")) n.put("coordinates", op.coordinates());
            if (!op.nearest().equals("round_prefer_floor")) n.put("nearest", op.nearest());
            if (op.cubicA() != -0.75) n.put("cubicA", op.cubicA());
            if (op.excludeOutside()) n.put("excludeOutside", true);
            return null;
        }

        @Override
        public Void visit(Flip op) {
            ints(n, "axes", op.axes());
            return null;
        }

        @Override
        public Void visit(ConvTranspose3d op) {
            n.put("out", op.outChannels());
            n.set("kernel", triple(op.kernel()));
            if (!op.stride().equals(Triple.of(1))) n.set("stride", triple(op.stride()));
            if (!op.padding().equals(Triple.of(0))) n.set("padding", triple(op.padding()));
            if (!op.outputPadding().equals(Triple.of(0))) n.set("outputPadding", triple(op.outputPadding()));
            if (!op.dilation().equals(Triple.of(1))) n.set("dilation", triple(op.dilation()));
            if (op.groups() != 1) n.put("groups", op.groups());
            if (!op.bias()) n.put("bias", false);
            return null;
        }

        @Override
        public Void visit(Linear op) {
            n.put("out", op.outFeatures());
            if (!op.bias()) n.put("bias", false);
            return null;
        }

        @Override
        public Void visit(MatMul op) {
            if (op.transposeB()) n.put("transposeB", true);
            return null;
        }

        @Override
        public Void visit(Conv2d op) {
            n.put("out", op.outChannels());
            n.set("kernel", pair(op.kernel()));
            if (!op.stride().equals(Pair.of(1))) n.set("stride", pair(op.stride()));
            if (!op.padding().equals(Pair.of(0))) n.set("padding", pair(op.padding()));
            if (!op.dilation().equals(Pair.of(1))) n.set("dilation", pair(op.dilation()));
            if (op.groups() != 1) n.put("groups", op.groups());
            if (!op.bias()) n.put("bias", false);
            return null;
        }

        @Override
        public Void visit(ConvTranspose2d op) {
            n.put("out", op.outChannels());
            n.set("kernel", pair(op.kernel()));
            if (!op.stride().equals(Pair.of(1))) n.set("stride", pair(op.stride()));
            if (!op.padding().equals(Pair.of(0))) n.set("padding", pair(op.padding()));
            if (!op.outputPadding().equals(Pair.of(0))) n.set("outputPadding", pair(op.outputPadding()));
            if (!op.dilation().equals(Pair.of(1))) n.set("dilation", pair(op.dilation()));
            if (op.groups() != 1) n.put("groups", op.groups());
            if (!op.bias()) n.put("bias", false);
            return null;
        }

        @Override
        public Void visit(BatchNorm2d op) {
            if (op.eps() != 1e-5) n.put("eps", op.eps());
            if (op.momentum() != 0.1) n.put("momentum", op.momentum());
            return null;
        }

        @Override
        public Void visit(LayerNorm op) {
            if (op.eps() != 1e-5) n.put("eps", op.eps());
            return null;
        }

        @Override
        public Void visit(MaxPool2d op) {
            pool(op.kernel(), op.stride(), op.padding());
            return null;
        }

        @Override
        public Void visit(AvgPool2d op) {
            pool(op.kernel(), op.stride(), op.padding());
            return null;
        }

        @Override
        public Void visit(GroupNorm op) {
            n.put("groups", op.groups());
            if (op.eps() != 1e-5) n.put("eps", op.eps());
            if (!op.affine()) n.put("affine", false);
            return null;
        }

        @Override
        public Void visit(Conv3d op) {
            n.put("out", op.outChannels());
            n.set("kernel", triple(op.kernel()));
            if (!op.stride().equals(Triple.of(1))) n.set("stride", triple(op.stride()));
            if (!op.padding().equals(Triple.of(0))) n.set("padding", triple(op.padding()));
            if (!op.dilation().equals(Triple.of(1))) n.set("dilation", triple(op.dilation()));
            if (op.groups() != 1) n.put("groups", op.groups());
            if (!op.bias()) n.put("bias", false);
            return null;
        }

        @Override
        public Void visit(MaxPool3d op) {
            pool3d(op.kernel(), op.stride(), op.padding());
            return null;
        }

        @Override
        public Void visit(AvgPool3d op) {
            pool3d(op.kernel(), op.stride(), op.padding());
            return null;
        }

        private void pool3d(Triple kernel, Triple stride, Triple padding) {
            n.set("kernel", triple(kernel));
            if (!stride.equals(kernel)) n.set("stride", triple(stride));
            if (!padding.equals(Triple.of(0))) n.set("padding", triple(padding));
        }

        private void pool(Pair kernel, Pair stride, Pair padding) {
            n.set("kernel", pair(kernel));
            if (!stride.equals(kernel)) n.set("stride", pair(stride));
            if (!padding.equals(Pair.of(0))) n.set("padding", pair(padding));
        }

        @Override
        public Void visit(Embedding op) {
            n.put("num", op.numEmbeddings());
            n.put("dim", op.dim());
            return null;
        }

        @Override
        public Void visit(LSTMCell op) {
            n.put("hidden", op.hidden());
            return null;
        }

        @Override
        public Void visit(Attention op) {
            n.put("heads", op.heads());
            if (op.grouped()) n.put("kvHeads", op.kvHeads());
            if (op.causal()) n.put("causal", true);
            if (op.form() != Attention.Form.FUSED) n.put("form", op.form().jsonName());
            return null;
        }

        @Override
        public Void visit(RMSNorm op) {
            if (op.eps() != 1e-6) n.put("eps", op.eps());
            return null;
        }

        @Override
        public Void visit(GatedActivation op) {
            if (op.gate() != GatedActivation.Gate.SILU) n.put("gate", op.gate().jsonName());
            return null;
        }

        @Override
        public Void visit(RotaryEmbedding op) {
            n.put("headDim", op.headDim());
            if (op.theta() != 10000) n.put("theta", op.theta());
            return null;
        }

        @Override
        public Void visit(CrossEntropy op) {
            if (op.classAxis() != 1) n.put("classAxis", op.classAxis());
            return null;
        }

        @Override
        public Void visit(Opaque op) {
            n.put("source", op.source());
            if (op.inputCount() != 1) n.put("arity", op.inputCount()); // "inputs" is the layer's own key
            if (op.outputs() != 1) n.put("outputs", op.outputs());
            if (op.bound() != Opaque.Bound.NONE) n.put("bound", op.bound().jsonName());
            if (op.bound() == Opaque.Bound.NMS) n.put("limit", op.limit());
            return null;
        }

        @Override
        public Void visit(Input op) {
            dims(op.dims(), op.dtype());
            return null;
        }

        @Override
        public Void visit(Fill op) {
            dims(op.dims(), op.dtype());
            if (op.value() != 0) n.put("value", op.value());
            return null;
        }

        private void dims(List<String> dims, DType dtype) {
            var arr = n.putArray("shape");
            for (String d : dims) {
                if (Character.isDigit(d.charAt(0))) arr.add(Integer.parseInt(d));
                else arr.add(d);
            }
            if (dtype != null) n.put("dtype", dtype.jsonName());
        }
    }
}

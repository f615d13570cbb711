package memplan.onnx;

import memplan.graph.Node;
import memplan.ir.Shape;
import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.onnx.proto.Onnx.TensorProto.DataType;
import memplan.ops.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static memplan.onnx.OnnxExporter.af;
import static memplan.onnx.OnnxExporter.ai;
import static memplan.onnx.OnnxExporter.ais;
import static memplan.onnx.OnnxExporter.as;

/**
 * Writes one MemPlan layer as the ONNX nodes PyTorch's exporter would write for it: an exhaustive visitor over the
 * closed op set, so a new op does not compile until it says how it is exported (or why it cannot be). Each visit
 * reads the layer being written from {@link #write}; weights become zero-filled initializers.
 */
final class OnnxNodeWriter implements OpVisitor<Void> {
    private final OnnxExporter out;
    private final int opset;
    private Node node;
    /** The layer's name, which is also its output tensor's name. */
    private String y;
    private List<String> in;
    private String x;
    private Shape xs;

    OnnxNodeWriter(OnnxExporter out, int opset) {
        this.out = out;
        this.opset = opset;
    }

    void write(Node n) {
        node = n;
        y = n.layer().name();
        in = n.layer().inputs();
        x = in.isEmpty() ? null : in.get(0);
        xs = n.inShapes().isEmpty() ? null : n.inShapes().get(0);
        n.op().accept(this);
    }

    private Void cannot(String why) {
        throw new IllegalArgumentException("cannot export layer '" + y + "' (" + node.op().type() + ") to ONNX: "
                + why);
    }

    private Void node(String opType, List<String> inputs, AttributeProto... attrs) {
        out.add(opType, y, inputs, y, attrs);
        return null;
    }

    private static long[] longs(List<Integer> xs) {
        return xs.stream().mapToLong(Integer::longValue).toArray();
    }

    private static long[] symmetric(Pair p) {
        return new long[]{p.h(), p.w(), p.h(), p.w()};
    }

    private static long[] three(Triple t) {
        return new long[]{t.d(), t.h(), t.w()};
    }

    private static long[] symmetric(Triple t) {
        return new long[]{t.d(), t.h(), t.w(), t.d(), t.h(), t.w()};
    }

    // ---------------------------------------------------------------- unary elementwise

    @Override public Void visit(ReLU op) { return node("Relu", in); }
    @Override public Void visit(Sigmoid op) { return node("Sigmoid", in); }
    @Override public Void visit(Tanh op) { return node("Tanh", in); }
    @Override public Void visit(HardSwish op) { return node("HardSwish", in); }
    @Override public Void visit(Sqrt op) { return node("Sqrt", in); }

    /** Sigmoid and Mul, as PyTorch exports SiLU (ONNX has no SiLU operator before opset 24). */
    @Override
    public Void visit(SiLU op) {
        String s = out.add("Sigmoid", y + "/Sigmoid", List.of(x), y + "/sigmoid");
        out.add("Mul", y + "/Mul", List.of(x, s), y);
        return null;
    }

    /** One Mish node from opset 18; before it, the x * tanh(softplus(x)) that PyTorch writes. */
    @Override
    public Void visit(Mish op) {
        if (opset >= 18) return node("Mish", in);
        String sp = out.add("Softplus", y + "/Softplus", List.of(x), y + "/softplus");
        String t = out.add("Tanh", y + "/Tanh", List.of(sp), y + "/tanh");
        out.add("Mul", y + "/Mul", List.of(x, t), y);
        return null;
    }

    @Override
    public Void visit(LeakyReLU op) {
        return node("LeakyRelu", in, af("alpha", op.slope()));
    }

    @Override
    public Void visit(HardSigmoid op) {
        return node("HardSigmoid", in, af("alpha", op.alpha()), af("beta", op.beta()));
    }

    @Override
    public Void visit(GELU op) {
        if (opset >= 20) return node("Gelu", in);
        String dv = out.add("Div", y + "/Div", List.of(x, out.scalar(y + "_sqrt2", (float) Math.sqrt(2))), y + "/div");
        String e = out.add("Erf", y + "/Erf", List.of(dv), y + "/erf");
        String a = out.add("Add", y + "/Add", List.of(e, out.scalar(y + "_one", 1)), y + "/add");
        String m = out.add("Mul", y + "/Mul", List.of(x, a), y + "/mul");
        out.add("Mul", y + "/Mul_1", List.of(m, out.scalar(y + "_half", 0.5f)), y);
        return null;
    }

    @Override
    public Void visit(Clip op) {
        if (opset >= 11)
            return node("Clip", List.of(x, out.scalar(y + "_min", (float) op.min()),
                    out.scalar(y + "_max", (float) op.max())));
        return node("Clip", in, af("min", op.min()), af("max", op.max()));
    }

    @Override
    public Void visit(Cast op) {
        return node("Cast", in, ai("to", OnnxExporter.elementType(op.to())));
    }

    @Override
    public Void visit(Dropout op) {
        if (opset >= 12) return node("Dropout", List.of(x, out.scalar(y + "_ratio", (float) op.p())));
        return node("Dropout", in, af("ratio", op.p()));
    }

    /** x (fn) c as the binary node of fn: a scalar initializer, a learned initializer or a fixed Constant. */
    @Override
    public Void visit(ConstElementwise op) {
        String opType = switch (op.fn()) {
            case "add" -> "Add";
            case "sub" -> "Sub";
            case "mul" -> "Mul";
            case "div" -> "Div";
            case "mod", "fmod" -> "Mod";
            default -> "Pow";
        };
        String c;
        if (op.shape().isEmpty()) c = out.scalar(y + "_const", (float) op.value());
        else {
            int[] dims = op.shape().stream().mapToInt(Integer::intValue).toArray();
            c = op.trainable() ? out.weight(y + ".const", dims)
                    : out.constant(y + "_const", DataType.FLOAT_VALUE, dims);
        }
        List<String> ins = op.reversed() ? List.of(c, x) : List.of(x, c);
        if (op.fn().endsWith("mod")) return node(opType, ins, ai("fmod", op.fn().equals("fmod") ? 1 : 0));
        return node(opType, ins);
    }

    // ---------------------------------------------------------------- binary elementwise

    @Override public Void visit(Add op) { return node("Add", in); }
    /** act(gate) * up: SiLU as Sigmoid and Mul, GELU as Erf (the forms PyTorch exports), then the product. */
    @Override
    public Void visit(GatedActivation op) {
        String g = in.get(0), a;
        if (op.gate() == GatedActivation.Gate.SILU) {
            String s = out.add("Sigmoid", y + "/Sigmoid", List.of(g), y + "/sigmoid");
            a = out.add("Mul", y + "/Mul", List.of(g, s), y + "/act");
        } else {
            String dv = out.add("Div", y + "/Div", List.of(g, out.scalar(y + "_sqrt2", (float) Math.sqrt(2))),
                    y + "/div");
            String e = out.add("Erf", y + "/Erf", List.of(dv), y + "/erf");
            String ad = out.add("Add", y + "/Add", List.of(e, out.scalar(y + "_one", 1)), y + "/add");
            String m = out.add("Mul", y + "/Mul", List.of(g, ad), y + "/mul");
            a = out.add("Mul", y + "/Mul_1", List.of(m, out.scalar(y + "_half", 0.5f)), y + "/act");
        }
        out.add("Mul", y + "/Mul_2", List.of(a, in.get(1)), y);
        return null;
    }

    @Override public Void visit(Mul op) { return node("Mul", in); }
    @Override public Void visit(Sub op) { return node("Sub", in); }
    @Override public Void visit(Div op) { return node("Div", in); }
    @Override public Void visit(Pow op) { return node("Pow", in); }

    /** Equal, Less, Greater, And, Or, Xor or Not; a scalar operand is a float Constant. */
    @Override
    public Void visit(Compare op) {
        String name = switch (op.relation()) {
            case EQUAL -> "Equal";
            case LESS -> "Less";
            case GREATER -> "Greater";
            case AND -> "And";
            case OR -> "Or";
            case XOR -> "Xor";
            case NOT -> "Not";
        };
        if (!op.constShape().isEmpty()) return node(name, List.of(x, out.constant(y + "_const", DataType.FLOAT_VALUE,
                op.constShape().stream().mapToInt(Integer::intValue).toArray())));
        if (op.value() == null) return node(name, in);
        return node(name, List.of(x, out.scalar(y + "_value", op.value().floatValue())));
    }

    /** Where(mask, x, value) or Where(mask, value, x); a fixed mask is a boolean Constant. */
    @Override
    public Void visit(MaskedFill op) {
        String mask = op.maskShape().isEmpty() ? in.get(1)
                : out.constant(y + "_mask", DataType.BOOL_VALUE, op.maskShape().stream().mapToInt(Integer::intValue)
                .toArray());
        String value = out.scalar(y + "_value", (float) op.value());
        return node("Where", op.keepWhereTrue() ? List.of(mask, x, value) : List.of(mask, value, x));
    }

    // ---------------------------------------------------------------- reductions

    /** ScatterND; reduction add needs opset 16. */
    @Override
    public Void visit(ScatterND op) {
        if (opset < 11) return cannot("ScatterND needs opset 11 or later");
        if (!op.add()) return node("ScatterND", in);
        if (opset < 16) return cannot("ScatterND with reduction add needs opset 16 or later");
        return node("ScatterND", in, as("reduction", "add"));
    }

    @Override
    public Void visit(CumSum op) {
        if (opset < 11) return cannot("CumSum needs opset 11 or later");
        return node("CumSum", List.of(x, out.ints(y + "_axis", op.axis())), ai("exclusive", op.exclusive() ? 1 : 0),
                ai("reverse", op.reverse() ? 1 : 0));
    }

    /** TopK with outputs name:0 (values) and name:1 (indices); k an input from opset 10, an attribute before. */
    @Override
    public Void visit(TopK op) {
        List<String> outs = List.of(y + ":0", y + ":1");
        AttributeProto axis = ai("axis", op.axis());
        if (opset < 10) {
            if (!op.largest()) return cannot("the smallest elements need opset 11 or later");
            out.add("TopK", y, in, outs, axis, ai("k", op.k()));
        } else if (opset < 11) {
            if (!op.largest()) return cannot("the smallest elements need opset 11 or later");
            out.add("TopK", y, List.of(x, out.ints(y + "_k", op.k())), outs, axis);
        } else out.add("TopK", y, List.of(x, out.ints(y + "_k", op.k())), outs, axis,
                ai("largest", op.largest() ? 1 : 0), ai("sorted", op.sorted() ? 1 : 0));
        return null;
    }

    @Override
    public Void visit(ReduceMean op) {
        long[] axes = longs(op.axes());
        AttributeProto keep = ai("keepdims", op.keepDims() ? 1 : 0);
        if (opset >= 18) return node("ReduceMean", List.of(x, out.ints(y + "_axes", axes)), keep);
        return node("ReduceMean", in, ais("axes", axes), keep);
    }

    // ---------------------------------------------------------------- movement and views

    @Override
    public Void visit(Reshape op) {
        return node("Reshape", List.of(x, out.ints(y + "_shape", longs(op.shape()))));
    }

    @Override
    public Void visit(Flatten op) {
        if (op.startDim() == 1) return node("Flatten", in, ai("axis", 1));
        long[] spec = new long[op.startDim() + 1];
        spec[op.startDim()] = -1;
        return node("Reshape", List.of(x, out.ints(y + "_shape", spec)));
    }

    @Override
    public Void visit(Transpose op) {
        return node("Transpose", in, ais("perm", longs(op.perm())));
    }

    @Override
    public Void visit(Concat op) {
        return node("Concat", in, ai("axis", op.axis()));
    }

    @Override
    public Void visit(Slice op) {
        return node("Slice", List.of(x, out.ints(y + "_starts", op.start()), out.ints(y + "_ends", op.end()),
                out.ints(y + "_axes", op.axis())));
    }

    /** One output per part, named as MemPlan names a layer's outputs ("layer:0", "layer:1", ...). */
    @Override
    public Void visit(Split op) {
        List<String> outs = new ArrayList<>();
        for (int i = 0; i < op.sizes().size(); i++) outs.add(y + ":" + i);
        long[] sizes = longs(op.sizes());
        AttributeProto axis = ai("axis", op.axis());
        if (opset >= 13) out.add("Split", y, List.of(x, out.ints(y + "_split", sizes)), outs, axis);
        else out.add("Split", y, in, outs, axis, ais("split", sizes));
        return null;
    }

    @Override
    public Void visit(Pad op) {
        if (op.mode().equals("wrap") && opset < 19) return cannot("Pad mode wrap needs opset 19 or later");
        AttributeProto mode = as("mode", op.mode());
        if (opset >= 11) return node("Pad", List.of(x, out.ints(y + "_pads", longs(op.pads()))), mode);
        return node("Pad", in, ais("pads", longs(op.pads())), mode);
    }

    @Override
    public Void visit(Upsample op) {
        String scales = out.floats(y + "_scales", 1, 1, op.scale(), op.scale());
        return node("Resize", List.of(x, "", scales), as("mode", "nearest"));
    }

    /** Resize with its scales when the op has them (a scale per axis), else with the full output sizes. */
    @Override
    public Void visit(Resize op) {
        if (opset < 11) return cannot("Resize needs opset 11 or later");
        int r = xs.rank();
        String roi = opset < 13 ? out.floats(y + "_roi") : "";
        List<String> ins;
        if (!op.scales().isEmpty()) {
            float[] sc = new float[r];
            sc[0] = sc[1] = 1;
            for (int i = 0; i < r - 2; i++) sc[2 + i] = op.scales().get(i).floatValue();
            ins = List.of(x, roi, out.floats(y + "_scales", sc));
        } else {
            long[] sizes = new long[r];
            for (int i = 0; i < r; i++) sizes[i] = i < 2 ? xs.dim(i) : op.sizes().get(i - 2);
            ins = List.of(x, roi, opset < 13 ? out.floats(y + "_scales") : "", out.ints(y + "_sizes", sizes));
        }
        List<AttributeProto> attrs = new ArrayList<>(List.of(as("mode", op.mode()),
                as("coordinate_transformation_mode", op.coordinates())));
        if (op.mode().equals("nearest")) attrs.add(as("nearest_mode", op.nearest()));
        if (op.mode().equals("cubic")) {
            attrs.add(af("cubic_coeff_a", (float) op.cubicA()));
            if (op.excludeOutside()) attrs.add(ai("exclude_outside", 1));
        }
        return node("Resize", ins, attrs.toArray(new AttributeProto[0]));
    }

    /** A Slice with step -1 over every flipped axis, as PyTorch exports torch.flip. */
    @Override
    public Void visit(Flip op) {
        int m = op.axes().size();
        long[] starts = new long[m], ends = new long[m], axes = new long[m], steps = new long[m];
        for (int i = 0; i < m; i++) {
            starts[i] = -1;
            ends[i] = Long.MIN_VALUE + 1;
            axes[i] = op.axes().get(i);
            steps[i] = -1;
        }
        return node("Slice", List.of(x, out.ints(y + "_starts", starts), out.ints(y + "_ends", ends),
                out.ints(y + "_axes", axes), out.ints(y + "_steps", steps)));
    }

    // ---------------------------------------------------------------- GEMM-like

    @Override
    public Void visit(Linear op) {
        int k = xs.dim(-1);
        if (xs.rank() == 2) {
            List<String> ins = new ArrayList<>(List.of(x, out.weight(y + ".weight", op.outFeatures(), k)));
            if (op.bias()) ins.add(out.weight(y + ".bias", op.outFeatures()));
            return node("Gemm", ins, ai("transB", 1));
        }
        if (!op.bias()) return node("MatMul", List.of(x, out.weight(y + ".weight", k, op.outFeatures())));
        String mm = out.add("MatMul", y + "/MatMul", List.of(x, out.weight(y + ".weight", k, op.outFeatures())),
                y + "/MatMul_out");
        out.add("Add", y + "/Add", List.of(mm, out.weight(y + ".bias", op.outFeatures())), y);
        return null;
    }

    @Override
    public Void visit(MatMul op) {
        String b = in.get(1);
        if (op.transposeB()) {
            int r = node.inShapes().get(1).rank();
            long[] perm = new long[r];
            for (int i = 0; i < r; i++) perm[i] = i == r - 2 ? r - 1 : i == r - 1 ? r - 2 : i;
            b = out.add("Transpose", y + "/Transpose", List.of(b), y + "/Transpose_out", ais("perm", perm));
        }
        return node("MatMul", List.of(x, b));
    }

    @Override
    public Void visit(Conv2d c) {
        List<String> ins = new ArrayList<>(List.of(x, out.weight(y + ".weight", c.outChannels(), xs.dim(1) / c.groups(),
                c.kernel().h(), c.kernel().w())));
        if (c.bias()) ins.add(out.weight(y + ".bias", c.outChannels()));
        return node("Conv", ins, ais("kernel_shape", c.kernel().h(), c.kernel().w()),
                ais("strides", c.stride().h(), c.stride().w()),
                ais("pads", symmetric(c.padding())),
                ais("dilations", c.dilation().h(), c.dilation().w()), ai("group", c.groups()));
    }

    @Override
    public Void visit(Conv3d c) {
        Triple k = c.kernel();
        List<String> ins = new ArrayList<>(List.of(x, out.weight(y + ".weight", c.outChannels(),
                xs.dim(1) / c.groups(), k.d(), k.h(), k.w())));
        if (c.bias()) ins.add(out.weight(y + ".bias", c.outChannels()));
        return node("Conv", ins, ais("kernel_shape", three(k)), ais("strides", three(c.stride())),
                ais("pads", symmetric(c.padding())), ais("dilations", three(c.dilation())), ai("group", c.groups()));
    }

    @Override
    public Void visit(ConvTranspose2d c) {
        List<String> ins = new ArrayList<>(List.of(x, out.weight(y + ".weight", xs.dim(1), c.outChannels() / c.groups(),
                c.kernel().h(), c.kernel().w())));
        if (c.bias()) ins.add(out.weight(y + ".bias", c.outChannels()));
        return node("ConvTranspose", ins, ais("kernel_shape", c.kernel().h(), c.kernel().w()),
                ais("strides", c.stride().h(), c.stride().w()),
                ais("pads", symmetric(c.padding())),
                ais("output_padding", c.outputPadding().h(), c.outputPadding().w()),
                ais("dilations", c.dilation().h(), c.dilation().w()), ai("group", c.groups()));
    }

    @Override
    public Void visit(ConvTranspose3d c) {
        Triple k = c.kernel();
        List<String> ins = new ArrayList<>(List.of(x, out.weight(y + ".weight", xs.dim(1), c.outChannels() / c.groups(),
                k.d(), k.h(), k.w())));
        if (c.bias()) ins.add(out.weight(y + ".bias", c.outChannels()));
        return node("ConvTranspose", ins, ais("kernel_shape", three(k)), ais("strides", three(c.stride())),
                ais("pads", symmetric(c.padding())), ais("output_padding", three(c.outputPadding())),
                ais("dilations", three(c.dilation())), ai("group", c.groups()));
    }

    // ---------------------------------------------------------------- normalisation

    @Override
    public Void visit(BatchNorm2d bn) {
        int c = xs.dim(1);
        return node("BatchNormalization", List.of(x, out.weight(y + ".weight", c), out.weight(y + ".bias", c),
                out.weight(y + ".running_mean", c), out.weight(y + ".running_var", c)),
                af("epsilon", bn.eps()), af("momentum", 1 - bn.momentum()));
    }

    /** LayerNormalization from opset 17; before, the decomposition PyTorch writes (the importer fuses it back). */
    /**
     * As PyTorch 1.13 exports nn.GroupNorm: Reshape to [N, G, -1], InstanceNormalization with unit scale and zero
     * shift per group, Reshape back to the input's shape, then Mul by the weight and Add the bias ([C, 1, ...]).
     */
    @Override
    public Void visit(GroupNorm gn) {
        int c = xs.dim(1);
        String r = out.add("Reshape", y + "/Reshape", List.of(x, out.ints(y + "_groups", 0, gn.groups(), -1)),
                y + "/grouped");
        float[] ones = new float[gn.groups()];
        Arrays.fill(ones, 1f);
        String in = out.add("InstanceNormalization", y + "/InstanceNormalization",
                List.of(r, out.floats(y + "_ones", ones), out.floats(y + "_zeros", new float[gn.groups()])),
                y + "/normed", af("epsilon", gn.eps()));
        String shape = out.add("Shape", y + "/Shape", List.of(x), y + "/shape");
        String back = out.add("Reshape", y + "/Reshape_1", List.of(in, shape), gn.affine() ? y + "/norm" : y);
        if (!gn.affine()) return null;
        int[] dims = new int[xs.rank() - 1];
        Arrays.fill(dims, 1);
        dims[0] = c;
        String m = out.add("Mul", y + "/Mul", List.of(back, out.weight(y + ".weight", dims)), y + "/scaled");
        return node("Add", List.of(m, out.weight(y + ".bias", dims)));
    }

    @Override
    public Void visit(LayerNorm ln) {
        int d = xs.dim(-1);
        String w = out.weight(y + ".weight", d), b = out.weight(y + ".bias", d);
        if (opset >= 17)
            return node("LayerNormalization", List.of(x, w, b), ai("axis", -1),
                    af("epsilon", ln.eps()));
        String mean = reduceLast(y + "/ReduceMean", x, y + "/mean");
        String dd = out.add("Sub", y + "/Sub", List.of(x, mean), y + "/d");
        String p = out.add("Pow", y + "/Pow", List.of(dd, out.scalar(y + "_two", 2)), y + "/sq");
        String var = reduceLast(y + "/ReduceMean_1", p, y + "/var");
        String ae = out.add("Add", y + "/Add", List.of(var, out.scalar(y + "_eps", (float) ln.eps())), y + "/var_eps");
        String sq = out.add("Sqrt", y + "/Sqrt", List.of(ae), y + "/std");
        String dv = out.add("Div", y + "/Div", List.of(dd, sq), y + "/norm");
        String m = out.add("Mul", y + "/Mul", List.of(dv, w), y + "/scaled");
        out.add("Add", y + "/Add_1", List.of(m, b), y);
        return null;
    }

    /** x / sqrt(mean(x^2) + eps) * weight, as PyTorch exports Llama's RMSNorm (RMSNormalization is opset 23). */
    @Override
    public Void visit(RMSNorm op) {
        String w = out.weight(y + ".weight", xs.dim(-1));
        String p = out.add("Pow", y + "/Pow", List.of(x, out.scalar(y + "_two", 2)), y + "/sq");
        String var = reduceLast(y + "/ReduceMean", p, y + "/var");
        String ae = out.add("Add", y + "/Add", List.of(var, out.scalar(y + "_eps", (float) op.eps())), y + "/var_eps");
        String sq = out.add("Sqrt", y + "/Sqrt", List.of(ae), y + "/rms");
        String dv = out.add("Div", y + "/Div", List.of(x, sq), y + "/norm");
        out.add("Mul", y + "/Mul", List.of(dv, w), y);
        return null;
    }

    private String reduceLast(String name, String input, String output) {
        if (opset >= 18) return out.add("ReduceMean", name, List.of(input, out.ints(y + "_axes", -1)), output);
        return out.add("ReduceMean", name, List.of(input), output, ais("axes", -1));
    }

    @Override
    public Void visit(Softmax op) {
        return node("Softmax", in, ai("axis", -1));
    }

    // ---------------------------------------------------------------- pooling

    @Override
    public Void visit(MaxPool2d p) {
        return node("MaxPool", in, ais("kernel_shape", p.kernel().h(), p.kernel().w()),
                ais("strides", p.stride().h(), p.stride().w()), ais("pads", symmetric(p.padding())));
    }

    @Override
    public Void visit(AvgPool2d p) {
        return node("AveragePool", in, ais("kernel_shape", p.kernel().h(), p.kernel().w()),
                ais("strides", p.stride().h(), p.stride().w()), ais("pads", symmetric(p.padding())));
    }

    @Override public Void visit(GlobalAvgPool op) { return node("GlobalAveragePool", in); }

    @Override
    public Void visit(MaxPool3d p) {
        return node("MaxPool", in, ais("kernel_shape", three(p.kernel())), ais("strides", three(p.stride())),
                ais("pads", symmetric(p.padding())));
    }

    @Override
    public Void visit(AvgPool3d p) {
        return node("AveragePool", in, ais("kernel_shape", three(p.kernel())), ais("strides", three(p.stride())),
                ais("pads", symmetric(p.padding())));
    }

    // ---------------------------------------------------------------- sequence, attention

    @Override
    public Void visit(Embedding e) {
        return node("Gather", List.of(out.weight(y + ".weight", e.numEmbeddings(), e.dim()), x));
    }

    @Override
    public Void visit(LSTMCell op) {
        return cannot("a single LSTM step has no ONNX node of its own (the importer reads ONNX LSTM nodes as "
                + "chains of LSTMCells, not one cell back); export the network with its recurrence unrolled into "
                + "MatMul, Sigmoid and Tanh");
    }

    @Override
    public Void visit(Attention op) {
        return cannot("the fused attention op has no standard ONNX node before opset 23; build the model with its "
                + "parts (MatMul, Softmax, MatMul) to export it");
    }

    @Override
    public Void visit(RotaryEmbedding op) {
        return cannot("rotary embedding has no standard ONNX node before opset 23 (RotaryEmbedding)");
    }

    // ---------------------------------------------------------------- losses, opaque ops, inputs

    /** Losses are left out: the graph ends at the loss's prediction (see {@link OnnxExporter}). */
    @Override public Void visit(CrossEntropy op) { return null; }
    @Override public Void visit(MseLoss op) { return null; }

    /** An op kept opaque on import is written back as the operator it stood for (its attributes are not known). */
    @Override
    public Void visit(Opaque op) {
        if (!op.source().startsWith("onnx:"))
            return cannot("an opaque op from '" + op.source() + "' stands for an unknown computation");
        String name = op.source().substring("onnx:".length());
        int dot = name.lastIndexOf('.');
        List<String> outs = new ArrayList<>();
        for (int i = 0; i < op.outputs(); i++) outs.add(op.outputs() == 1 ? y : y + ":" + i);
        out.addIn(dot < 0 ? "" : name.substring(0, dot), name.substring(dot + 1), y, in, outs);
        return null;
    }

    @Override
    public Void visit(Input op) {
        out.input(y, op.dims(), op.dtype());
        return null;
    }

    /** ConstantOfShape of a shape whose symbolic entries are read from a data input's shape. */
    @Override
    public Void visit(Fill op) {
        List<String> parts = new ArrayList<>();
        for (String d : op.dims())
            parts.add(Character.isDigit(d.charAt(0)) ? out.ints(y + "_dim", Long.parseLong(d)) : out.symbolDim(d));
        String shape = out.add("Concat", y + "/Concat", parts, y + "/shape", ai("axis", 0));
        int type = OnnxExporter.elementType(op.dtype());
        TensorProto.Builder v = TensorProto.newBuilder().setDataType(type).addDims(1);
        switch (type) {
            case DataType.INT64_VALUE -> v.addInt64Data((long) op.value());
            case DataType.INT32_VALUE, DataType.BOOL_VALUE -> v.addInt32Data((int) (long) op.value());
            default -> v.addFloatData((float) op.value());
        }
        return node("ConstantOfShape", List.of(shape), AttributeProto.newBuilder().setName("value")
                .setType(AttributeProto.AttributeType.TENSOR).setT(v).build());
    }
}

package memplan.onnx;

import com.google.protobuf.ByteString;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.io.AtomicFileWriter;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ir.Shape;
import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.onnx.proto.Onnx.GraphProto;
import memplan.onnx.proto.Onnx.ModelProto;
import memplan.onnx.proto.Onnx.NodeProto;
import memplan.onnx.proto.Onnx.OperatorSetIdProto;
import memplan.onnx.proto.Onnx.StringStringEntryProto;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.onnx.proto.Onnx.TensorProto.DataType;
import memplan.onnx.proto.Onnx.TensorShapeProto;
import memplan.onnx.proto.Onnx.TypeProto;
import memplan.onnx.proto.Onnx.ValueInfoProto;
import memplan.ops.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes a MemPlan model as an ONNX inference graph the way PyTorch's exporter would (weights as zero-filled
 * initializers, in the model or in an external data file, Linear as Gemm on 2-D input and MatMul + Add otherwise, LayerNorm and GELU decomposed before
 * opsets 17 and 20). Loss layers and the targets that feed only them are left out; the loss's prediction becomes
 * the graph output. Used to test the importer against the sample networks; covers the ops those use.
 */
public final class OnnxExporter {
    private final ModelDef model;
    private final int opset;
    private final String externalData;
    private final Graph g;
    private final GraphProto.Builder gb = GraphProto.newBuilder();
    private final List<TensorProto> initializers = new ArrayList<>();
    private final Set<String> skipped = new HashSet<>();
    private final Set<String> weights = new HashSet<>();
    private long externalBytes;
    private int counter;

    private OnnxExporter(ModelDef model, int opset, String externalData) {
        this.model = model;
        this.opset = opset;
        this.externalData = externalData;
        this.g = Graph.instantiate(model, 1, DType.FP32);
    }

    /** The model as ONNX at the given opset; weights go to {@code externalData} (next to the model) when not null. */
    public static ModelProto export(ModelDef model, int opset, String externalData) {
        return new OnnxExporter(model, opset, externalData).build();
    }

    /**
     * Writes the model to {@code file}; with external data, the weights go to "&lt;file&gt;.data" beside it, written
     * as a sparse file of zeros so that even VGG-16 costs no disk or heap.
     */
    public static void write(ModelDef model, int opset, Path file, boolean externalData) throws IOException {
        String data = externalData ? file.getFileName() + ".data" : null;
        OnnxExporter ex = new OnnxExporter(model, opset, data);
        ModelProto m = ex.build();
        if (data != null) {
            try (RandomAccessFile f = new RandomAccessFile(file.resolveSibling(data).toFile(), "rw")) {
                f.setLength(ex.externalBytes);
            }
        }
        AtomicFileWriter.write(file, m.toByteArray());
    }

    private ModelProto build() {
        gb.setName(model.name());
        Set<String> lossInputs = new HashSet<>();
        String prediction = null;
        for (Layer l : model.layers())
            if (l.op() instanceof CrossEntropy || l.op() instanceof MseLoss) {
                skipped.add(l.name());
                prediction = l.inputs().get(0);
                lossInputs.addAll(l.inputs().subList(1, l.inputs().size()));
            }
        for (String t : lossInputs)
            if (model.layer(t) != null && model.layer(t).op() instanceof Input && usedOnlyByLoss(t)) skipped.add(t);
        long offset = 0;
        for (Node n : g.nodes()) {
            Layer l = n.layer();
            if (skipped.contains(l.name())) continue;
            if (l.op() instanceof Input in) {
                gb.addInput(valueInfo(l.name(), in.dims(), in.dtype()));
                continue;
            }
            node(n);
        }
        if (prediction == null) prediction = model.layers().get(model.layers().size() - 1).name();
        Value out = valueOf(prediction);
        List<String> dims = new ArrayList<>();
        for (int i = 0; i < out.shape().rank(); i++) dims.add(i == 0 ? ModelDef.BATCH : Integer.toString(out.shape().dim(i)));
        gb.addOutput(valueInfo(prediction, dims, null));
        for (TensorProto t : initializers) {
            if (externalData != null && weights.contains(t.getName())) {
                long len = OnnxTensor.numel(OnnxTensor.dims(t, t.getName())) * OnnxTensor.elementBytes(t.getDataType());
                t = t.toBuilder().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", externalData)).addExternalData(entry("offset", Long.toString(offset)))
                        .addExternalData(entry("length", Long.toString(len))).build();
                offset += len;
                externalBytes = offset;
            }
            gb.addInitializer(t);
        }
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("memplan").setProducerVersion("export")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(gb).build();
    }

    private boolean usedOnlyByLoss(String name) {
        for (Layer l : model.layers())
            if (!(l.op() instanceof CrossEntropy || l.op() instanceof MseLoss) && l.inputs().contains(name)) return false;
        return true;
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private Value valueOf(String ref) {
        for (Value v : g.values()) if (v.name().equals(ref)) return v;
        throw new IllegalArgumentException("no value " + ref);
    }

    private static ValueInfoProto valueInfo(String name, List<String> dims, DType dtype) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (String d : dims) {
            if (Character.isDigit(d.charAt(0))) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(Long.parseLong(d)));
            else s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(d.equals(ModelDef.BATCH) ? "batch" : d));
        }
        int et = dtype == null ? DataType.FLOAT_VALUE : dtype == DType.INT64 ? DataType.INT64_VALUE : dtype == DType.INT32
                ? DataType.INT32_VALUE : dtype == DType.BOOL ? DataType.BOOL_VALUE : DataType.FLOAT_VALUE;
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(et).setShape(s))).build();
    }

    // ---------------------------------------------------------------- tensors and nodes

    private String weight(String name, int... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(DataType.FLOAT_VALUE);
        long n = 1;
        for (int d : dims) {
            t.addDims(d);
            n *= d;
        }
        if (externalData == null) t.setRawData(ByteString.copyFrom(new byte[(int) n * 4]));
        weights.add(name);
        initializers.add(t.build());
        return name;
    }

    private String ints(String name, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name + "_" + counter++).setDataType(DataType.INT64_VALUE).addDims(values.length);
        for (long v : values) t.addInt64Data(v);
        gb.addNode(NodeProto.newBuilder().setOpType("Constant").setName(t.getName() + "_const").addOutput(t.getName())
                .addAttribute(AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(t)));
        return t.getName();
    }

    private String scalar(String name, float v) {
        TensorProto t = TensorProto.newBuilder().setName(name + "_" + counter++).setDataType(DataType.FLOAT_VALUE).addFloatData(v).build();
        initializers.add(t);
        return t.getName();
    }

    private static AttributeProto ai(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto af(String name, double v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF((float) v).build();
    }

    private static AttributeProto ais(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) b.addInts(x);
        return b.build();
    }

    private String add(String opType, String name, List<String> inputs, String output, AttributeProto... attrs) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(opType).setName(name).addAllInput(inputs).addOutput(output);
        for (AttributeProto a : attrs) b.addAttribute(a);
        gb.addNode(b);
        return output;
    }

    private void node(Node n) {
        Layer l = n.layer();
        String y = l.name();
        List<String> in = l.inputs();
        String x = in.isEmpty() ? null : in.get(0);
        Shape xs = n.inShapes().isEmpty() ? null : n.inShapes().get(0);
        Op op = l.op();
        if (op instanceof Conv2d c) {
            List<String> ins = new ArrayList<>(List.of(x, weight(y + ".weight", c.outChannels(), xs.dim(1) / c.groups(), c.kernel().h(), c.kernel().w())));
            if (c.bias()) ins.add(weight(y + ".bias", c.outChannels()));
            add("Conv", y, ins, y, ais("kernel_shape", c.kernel().h(), c.kernel().w()), ais("strides", c.stride().h(), c.stride().w()),
                    ais("pads", c.padding().h(), c.padding().w(), c.padding().h(), c.padding().w()),
                    ais("dilations", c.dilation().h(), c.dilation().w()), ai("group", c.groups()));
        } else if (op instanceof ConvTranspose2d c) {
            List<String> ins = new ArrayList<>(List.of(x, weight(y + ".weight", xs.dim(1), c.outChannels() / c.groups(), c.kernel().h(), c.kernel().w())));
            if (c.bias()) ins.add(weight(y + ".bias", c.outChannels()));
            add("ConvTranspose", y, ins, y, ais("kernel_shape", c.kernel().h(), c.kernel().w()), ais("strides", c.stride().h(), c.stride().w()),
                    ais("pads", c.padding().h(), c.padding().w(), c.padding().h(), c.padding().w()),
                    ais("output_padding", c.outputPadding().h(), c.outputPadding().w()),
                    ais("dilations", c.dilation().h(), c.dilation().w()), ai("group", c.groups()));
        } else if (op instanceof Linear lin) {
            int k = xs.dim(-1);
            if (xs.rank() == 2) {
                List<String> ins = new ArrayList<>(List.of(x, weight(y + ".weight", lin.outFeatures(), k)));
                if (lin.bias()) ins.add(weight(y + ".bias", lin.outFeatures()));
                add("Gemm", y, ins, y, ai("transB", 1));
            } else if (lin.bias()) {
                String mm = add("MatMul", y + "/MatMul", List.of(x, weight(y + ".weight", k, lin.outFeatures())), y + "/MatMul_out");
                add("Add", y + "/Add", List.of(mm, weight(y + ".bias", lin.outFeatures())), y);
            } else add("MatMul", y, List.of(x, weight(y + ".weight", k, lin.outFeatures())), y);
        } else if (op instanceof MatMul mm) {
            String b = in.get(1);
            if (mm.transposeB()) {
                int r = n.inShapes().get(1).rank();
                long[] perm = new long[r];
                for (int i = 0; i < r; i++) perm[i] = i == r - 2 ? r - 1 : i == r - 1 ? r - 2 : i;
                b = add("Transpose", y + "/Transpose", List.of(b), y + "/Transpose_out", ais("perm", perm));
            }
            add("MatMul", y, List.of(x, b), y);
        } else if (op instanceof BatchNorm2d bn) {
            int c = xs.dim(1);
            add("BatchNormalization", y, List.of(x, weight(y + ".weight", c), weight(y + ".bias", c), weight(y + ".running_mean", c),
                    weight(y + ".running_var", c)), y, af("epsilon", bn.eps()), af("momentum", 1 - bn.momentum()));
        } else if (op instanceof LayerNorm ln) {
            int d = xs.dim(-1);
            String w = weight(y + ".weight", d), b = weight(y + ".bias", d);
            if (opset >= 17) {
                add("LayerNormalization", y, List.of(x, w, b), y, ai("axis", -1), af("epsilon", ln.eps()));
                return;
            }
            String axes = opset >= 18 ? ints(y + "_axes", -1) : null;
            String mean = add("ReduceMean", y + "/ReduceMean", axes == null ? List.of(x) : List.of(x, axes), y + "/mean",
                    axes == null ? new AttributeProto[]{ais("axes", -1)} : new AttributeProto[0]);
            String dd = add("Sub", y + "/Sub", List.of(x, mean), y + "/d");
            String p = add("Pow", y + "/Pow", List.of(dd, scalar(y + "_two", 2)), y + "/sq");
            String axes2 = opset >= 18 ? ints(y + "_axes", -1) : null;
            String var = add("ReduceMean", y + "/ReduceMean_1", axes2 == null ? List.of(p) : List.of(p, axes2), y + "/var",
                    axes2 == null ? new AttributeProto[]{ais("axes", -1)} : new AttributeProto[0]);
            String ae = add("Add", y + "/Add", List.of(var, scalar(y + "_eps", (float) ln.eps())), y + "/var_eps");
            String sq = add("Sqrt", y + "/Sqrt", List.of(ae), y + "/std");
            String dv = add("Div", y + "/Div", List.of(dd, sq), y + "/norm");
            String m = add("Mul", y + "/Mul", List.of(dv, w), y + "/scaled");
            add("Add", y + "/Add_1", List.of(m, b), y);
        } else if (op instanceof GELU ge) {
            if (opset >= 20) {
                add("Gelu", y, List.of(x), y);
                return;
            }
            String dv = add("Div", y + "/Div", List.of(x, scalar(y + "_sqrt2", (float) Math.sqrt(2))), y + "/div");
            String e = add("Erf", y + "/Erf", List.of(dv), y + "/erf");
            String a = add("Add", y + "/Add", List.of(e, scalar(y + "_one", 1)), y + "/add");
            String m = add("Mul", y + "/Mul", List.of(x, a), y + "/mul");
            add("Mul", y + "/Mul_1", List.of(m, scalar(y + "_half", 0.5f)), y);
        } else if (op instanceof ReLU r) add("Relu", y, in, y);
        else if (op instanceof Sigmoid s) add("Sigmoid", y, in, y);
        else if (op instanceof Tanh t) add("Tanh", y, in, y);
        else if (op instanceof LeakyReLU lr) add("LeakyRelu", y, in, y, af("alpha", lr.slope()));
        else if (op instanceof HardSigmoid hs) add("HardSigmoid", y, in, y, af("alpha", hs.alpha()), af("beta", hs.beta()));
        else if (op instanceof HardSwish hs) add("HardSwish", y, in, y);
        else if (op instanceof Sqrt s) add("Sqrt", y, in, y);
        else if (op instanceof Softmax s) add("Softmax", y, in, y, ai("axis", -1));
        else if (op instanceof MaxPool2d p) add("MaxPool", y, in, y, ais("kernel_shape", p.kernel().h(), p.kernel().w()),
                ais("strides", p.stride().h(), p.stride().w()), ais("pads", p.padding().h(), p.padding().w(), p.padding().h(), p.padding().w()));
        else if (op instanceof AvgPool2d p) add("AveragePool", y, in, y, ais("kernel_shape", p.kernel().h(), p.kernel().w()),
                ais("strides", p.stride().h(), p.stride().w()), ais("pads", p.padding().h(), p.padding().w(), p.padding().h(), p.padding().w()));
        else if (op instanceof GlobalAvgPool p) add("GlobalAveragePool", y, in, y);
        else if (op instanceof Add a) add("Add", y, in, y);
        else if (op instanceof Mul m) add("Mul", y, in, y);
        else if (op instanceof Sub s) add("Sub", y, in, y);
        else if (op instanceof Div d) add("Div", y, in, y);
        else if (op instanceof Pow p) add("Pow", y, in, y);
        else if (op instanceof Concat c) add("Concat", y, in, y, ai("axis", c.axis()));
        else if (op instanceof Flatten f) {
            if (f.startDim() == 1) add("Flatten", y, in, y, ai("axis", 1));
            else {
                long[] spec = new long[f.startDim() + 1];
                spec[f.startDim()] = -1;
                add("Reshape", y, List.of(x, ints(y + "_shape", spec)), y);
            }
        } else if (op instanceof Reshape r) add("Reshape", y, List.of(x, ints(y + "_shape", r.shape().stream().mapToLong(Integer::longValue).toArray())), y);
        else if (op instanceof Transpose t) add("Transpose", y, in, y, ais("perm", t.perm().stream().mapToLong(Integer::longValue).toArray()));
        else if (op instanceof Dropout d) {
            if (opset >= 12) add("Dropout", y, List.of(x, scalar(y + "_ratio", (float) d.p())), y);
            else add("Dropout", y, in, y, af("ratio", d.p()));
        } else if (op instanceof Embedding e) add("Gather", y, List.of(weight(y + ".weight", e.numEmbeddings(), e.dim()), x), y);
        else if (op instanceof Slice s) add("Slice", y, List.of(x, ints(y + "_starts", s.start()), ints(y + "_ends", s.end()), ints(y + "_axes", s.axis())), y);
        else if (op instanceof Upsample u) {
            TensorProto sc = TensorProto.newBuilder().setName(y + "_scales").setDataType(DataType.FLOAT_VALUE).addDims(4)
                    .addFloatData(1).addFloatData(1).addFloatData(u.scale()).addFloatData(u.scale()).build();
            initializers.add(sc);
            add("Resize", y, List.of(x, "", sc.getName()), y, AttributeProto.newBuilder().setName("mode")
                    .setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8("nearest")).build());
        } else if (op instanceof ReduceMean r) {
            long[] axes = r.axes().stream().mapToLong(Integer::longValue).toArray();
            if (opset >= 18) add("ReduceMean", y, List.of(x, ints(y + "_axes", axes)), y, ai("keepdims", r.keepDims() ? 1 : 0));
            else add("ReduceMean", y, in, y, ais("axes", axes), ai("keepdims", r.keepDims() ? 1 : 0));
        } else if (op instanceof Clip c) {
            if (opset >= 11) add("Clip", y, List.of(x, scalar(y + "_min", (float) c.min()), scalar(y + "_max", (float) c.max())), y);
            else add("Clip", y, in, y, af("min", c.min()), af("max", c.max()));
        } else throw new IllegalArgumentException("OnnxExporter: op " + op.type() + " (layer " + y + ") is not exported");
    }
}

package memplan.onnx;

import com.google.protobuf.ByteString;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.io.AtomicFileWriter;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
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
import memplan.ops.CrossEntropy;
import memplan.ops.Input;
import memplan.ops.MseLoss;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes a MemPlan model as an ONNX inference graph the way PyTorch's exporter would (weights as zero-filled
 * initializers, in the model or in an external data file, Linear as Gemm on 2-D input and MatMul + Add otherwise,
 * LayerNorm and GELU decomposed before opsets 17 and 20). Loss layers and the targets that feed only them are left
 * out; the loss's prediction becomes the graph output. Each layer is written by {@link OnnxNodeWriter}, an exhaustive
 * visitor of the op set; the fused Attention and LSTMCell ops, which the importer cannot read back, are refused
 * with a message naming the layer. Used to test the importer against the sample networks.
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
            if (isLoss(l)) {
                skipped.add(l.name());
                prediction = l.inputs().get(0);
                lossInputs.addAll(l.inputs().subList(1, l.inputs().size()));
            }
        for (String t : lossInputs)
            if (model.layer(t) != null && model.layer(t).op() instanceof Input && usedOnlyByLoss(t)) skipped.add(t);
        OnnxNodeWriter writer = new OnnxNodeWriter(this, opset);
        for (Node n : g.nodes()) if (!skipped.contains(n.layer().name())) writer.write(n);
        if (prediction == null) prediction = model.layers().get(model.layers().size() - 1).name();
        Value out = valueOf(prediction);
        List<String> dims = new ArrayList<>();
        for (int i = 0; i < out.shape().rank(); i++)
            dims.add(i == 0 ? ModelDef.BATCH : Integer.toString(out.shape().dim(i)));
        gb.addOutput(valueInfo(prediction, dims, null));
        long offset = 0;
        for (TensorProto t : initializers) {
            if (externalData != null && weights.contains(t.getName())) {
                long len = OnnxTensor.numel(OnnxTensor.dims(t, t.getName())) * OnnxTensor.elementBytes(t.getDataType());
                t = t.toBuilder().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", externalData))
                        .addExternalData(entry("offset", Long.toString(offset)))
                        .addExternalData(entry("length", Long.toString(len))).build();
                offset += len;
                externalBytes = offset;
            }
            gb.addInitializer(t);
        }
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("memplan").setProducerVersion("export")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(gb).build();
    }

    private static boolean isLoss(Layer l) {
        return l.op() instanceof CrossEntropy || l.op() instanceof MseLoss;
    }

    private boolean usedOnlyByLoss(String name) {
        for (Layer l : model.layers()) if (!isLoss(l) && l.inputs().contains(name)) return false;
        return true;
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private Value valueOf(String ref) {
        for (Value v : g.values()) if (v.name().equals(ref)) return v;
        throw new IllegalArgumentException("the model has no tensor '" + ref + "' to use as the graph output");
    }

    /** The ONNX element type of a MemPlan dtype; null is the model's float type. */
    static int elementType(DType dtype) {
        if (dtype == null) return DataType.FLOAT_VALUE;
        return switch (dtype) {
            case INT64 -> DataType.INT64_VALUE;
            case INT32 -> DataType.INT32_VALUE;
            case BOOL -> DataType.BOOL_VALUE;
            case UINT8 -> DataType.UINT8_VALUE;
            case FP16 -> DataType.FLOAT16_VALUE;
            case BF16 -> DataType.BFLOAT16_VALUE;
            case FP32 -> DataType.FLOAT_VALUE;
        };
    }

    private static ValueInfoProto valueInfo(String name, List<String> dims, DType dtype) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (String d : dims) {
            if (Character.isDigit(d.charAt(0)))
                s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(Long.parseLong(d)));
            else s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(d.equals(ModelDef.BATCH) ? "batch" : d));
        }
        int et = dtype == null || dtype.floating ? DataType.FLOAT_VALUE : elementType(dtype);
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(et).setShape(s))).build();
    }

    // ---------------------------------------------------------------- what the node writer adds

    /** A graph input. */
    void input(String name, List<String> dims, DType dtype) {
        gb.addInput(valueInfo(name, dims, dtype));
    }

    /**
     * A 1-D int64 tensor holding the value of a dimension symbol, read from the shape of a data input that has it
     * (a Fill sized by the batch is written as ConstantOfShape of a shape computed from the input, as PyTorch does).
     */
    String symbolDim(String symbol) {
        for (Layer l : model.layers()) {
            if (!(l.op() instanceof Input in) || skipped.contains(l.name())) continue;
            int axis = in.dims().indexOf(symbol);
            if (axis < 0) continue;
            String shape = add("Shape", l.name() + "/Shape_" + counter, List.of(l.name()),
                    l.name() + "/shape_" + counter++);
            return add("Gather", shape + "/Gather", List.of(shape, ints(shape + "_axis", axis)), shape + "/" + symbol,
                    ai("axis", 0));
        }
        throw new IllegalArgumentException("cannot export: no data input has the dimension '" + symbol + "'");
    }

    /** A zero-filled float initializer (a weight: it goes to the external data file when there is one). */
    String weight(String name, int... dims) {
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

    /** A 1-D int64 Constant node (shapes, axes, pads), as PyTorch writes them. */
    String ints(String name, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name + "_" + counter++)
                .setDataType(DataType.INT64_VALUE).addDims(values.length);
        for (long v : values) t.addInt64Data(v);
        return constantNode(t.build());
    }

    /** A zero-filled Constant node of a type and shape (a fixed buffer: a mask, a table). */
    String constant(String name, int dataType, int... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name + "_" + counter++).setDataType(dataType);
        long n = 1;
        for (int d : dims) {
            t.addDims(d);
            n *= d;
        }
        t.setRawData(ByteString.copyFrom(new byte[(int) n * OnnxTensor.elementBytes(dataType)]));
        return constantNode(t.build());
    }

    private String constantNode(TensorProto t) {
        gb.addNode(NodeProto.newBuilder().setOpType("Constant").setName(t.getName() + "_const").addOutput(t.getName())
                .addAttribute(AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR)
                        .setT(t)));
        return t.getName();
    }

    /** A float scalar initializer. */
    String scalar(String name, float v) {
        return addFloats(name, new int[0], v);
    }

    /** A 1-D float initializer. */
    String floats(String name, float... v) {
        return addFloats(name, new int[]{v.length}, v);
    }

    private String addFloats(String name, int[] dims, float... v) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name + "_" + counter++)
                .setDataType(DataType.FLOAT_VALUE);
        for (int d : dims) t.addDims(d);
        for (float x : v) t.addFloatData(x);
        initializers.add(t.build());
        return t.getName();
    }

    static AttributeProto ai(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    static AttributeProto af(String name, double v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF((float) v)
                .build();
    }

    static AttributeProto ais(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) b.addInts(x);
        return b.build();
    }

    static AttributeProto as(String name, String v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(v)).build();
    }

    /** A node of the default domain with one output; returns the output. */
    String add(String opType, String name, List<String> inputs, String output, AttributeProto... attrs) {
        add(opType, name, inputs, List.of(output), attrs);
        return output;
    }

    void add(String opType, String name, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        addIn("", opType, name, inputs, outputs, attrs);
    }

    void addIn(String domain, String opType, String name, List<String> inputs, List<String> outputs,
               AttributeProto... attrs) {
        NodeProto.Builder b = NodeProto.newBuilder().setDomain(domain).setOpType(opType).setName(name)
                .addAllInput(inputs).addAllOutput(outputs);
        for (AttributeProto a : attrs) b.addAttribute(a);
        gb.addNode(b);
    }
}

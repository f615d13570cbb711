package memplan.onnx;

import com.google.protobuf.ByteString;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ir.Shape;
import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.onnx.proto.Onnx.GraphProto;
import memplan.onnx.proto.Onnx.ModelProto;
import memplan.onnx.proto.Onnx.NodeProto;
import memplan.onnx.proto.Onnx.OperatorSetIdProto;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.onnx.proto.Onnx.TensorShapeProto;
import memplan.onnx.proto.Onnx.TypeProto;
import memplan.onnx.proto.Onnx.ValueInfoProto;
import memplan.ops.CrossEntropy;
import memplan.ops.MseLoss;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Builds small ONNX models node by node with the generated protobuf classes, for the importer's tests. */
final class OnnxGraphBuilder {
    static final int FLOAT = TensorProto.DataType.FLOAT_VALUE, INT64 = TensorProto.DataType.INT64_VALUE;

    final int opset;
    final GraphProto.Builder g = GraphProto.newBuilder().setName("test");
    private int counter;

    OnnxGraphBuilder(int opset) {
        this.opset = opset;
    }

    /** A graph input; dims are Integers (fixed) or Strings (symbolic). */
    OnnxGraphBuilder input(String name, int elemType, Object... dims) {
        g.addInput(info(name, elemType, dims));
        return this;
    }

    OnnxGraphBuilder output(String name) {
        g.addOutput(ValueInfoProto.newBuilder().setName(name));
        return this;
    }

    static ValueInfoProto info(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            if (d instanceof Integer i) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(i));
            else if (d == null) s.addDim(TensorShapeProto.Dimension.newBuilder());
            else s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam((String) d));
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(s))).build();
    }

    /** A zero float initializer (a weight). */
    String weight(String name, int... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(FLOAT);
        long n = 1;
        for (int d : dims) {
            t.addDims(d);
            n *= d;
        }
        t.setRawData(ByteString.copyFrom(new byte[(int) n * 4]));
        g.addInitializer(t);
        return name;
    }

    /** A 1-D int64 initializer (shapes, axes, pads). */
    String ints(long... v) {
        String name = "c" + counter++;
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(INT64).addDims(v.length);
        for (long x : v) t.addInt64Data(x);
        g.addInitializer(t);
        return name;
    }

    /** An initializer as given. */
    String init(TensorProto t) {
        g.addInitializer(t);
        return t.getName();
    }

    /** A scalar int64 initializer. */
    String intScalar(long v) {
        String name = "c" + counter++;
        g.addInitializer(TensorProto.newBuilder().setName(name).setDataType(INT64).addInt64Data(v));
        return name;
    }

    /** A float initializer with values (scalar when dims is empty). */
    String floats(float[] v, int... dims) {
        String name = "c" + counter++;
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(FLOAT);
        for (int d : dims) t.addDims(d);
        for (float x : v) t.addFloatData(x);
        g.addInitializer(t);
        return name;
    }

    String scalar(float v) {
        return floats(new float[]{v});
    }

    /** A Constant node holding a float scalar. */
    String constNode(float v) {
        String name = "k" + counter++;
        g.addNode(NodeProto.newBuilder().setOpType("Constant").setName(name).addOutput(name).addAttribute(
                AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR)
                        .setT(TensorProto.newBuilder().setDataType(FLOAT).addFloatData(v))));
        return name;
    }

    String node(String op, List<String> inputs, AttributeProto... attrs) {
        String out = op.toLowerCase() + "_" + counter++;
        nodeOut(op, inputs, List.of(out), attrs);
        return out;
    }

    void nodeOut(String op, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(outputs.get(0) + "_node").addAllInput(inputs).addAllOutput(outputs);
        for (AttributeProto a : attrs) b.addAttribute(a);
        g.addNode(b);
    }

    static AttributeProto i(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    static AttributeProto f(String name, double v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF((float) v).build();
    }

    static AttributeProto is(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) b.addInts(x);
        return b.build();
    }

    static AttributeProto fs(String name, float... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOATS);
        for (float x : v) b.addFloats(x);
        return b.build();
    }

    static AttributeProto s(String name, String v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(v)).build();
    }

    ModelProto model() {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(g).build();
    }

    Path write(Path dir) throws IOException {
        Path f = dir.resolve("m" + System.nanoTime() + ".onnx");
        Files.write(f, model().toByteArray());
        return f;
    }

    ModelDef load(Path dir, OnnxOptions o) throws IOException {
        return OnnxImporter.read(write(dir), o);
    }

    ModelDef load(Path dir) throws IOException {
        return load(dir, OnnxOptions.defaults());
    }

    // ---- inspecting an imported model

    static Graph at(ModelDef m, int batch) {
        return Graph.instantiate(m, batch, DType.FP32);
    }

    /** Shape of the prediction (the loss's first input) at a batch size. */
    static Shape outShape(ModelDef m, int batch) {
        for (Node n : at(m, batch).nodes())
            if (n.op() instanceof CrossEntropy || n.op() instanceof MseLoss) return n.inShapes().get(0);
        throw new AssertionError("no loss");
    }

    static long count(ModelDef m, String opType) {
        return m.layers().stream().filter(l -> l.op().type().equals(opType)).count();
    }
}

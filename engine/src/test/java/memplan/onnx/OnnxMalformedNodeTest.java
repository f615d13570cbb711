package memplan.onnx;

import memplan.io.ModelFormatException;
import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.onnx.proto.Onnx.AttributeProto.AttributeType;
import memplan.onnx.proto.Onnx.ModelProto;
import memplan.onnx.proto.Onnx.NodeProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import static memplan.onnx.OnnxGraphBuilder.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Malformed nodes (missing inputs, attributes of the wrong type, zero steps, out-of-range axes) give one error that
 * names the node and its op type and says why in words: never a Java exception's text.
 */
class OnnxMalformedNodeTest {
    @TempDir
    Path dir;

    /** What a Java exception's text looks like in a message. */
    private static final Pattern JAVA_TEXT = Pattern.compile("Exception|\\bnull\\b|out of bounds for length|"
            + "/ by zero|For input string|internal error|Index -?\\d+|\\bat memplan\\.");

    private ModelFormatException fails(ModelProto m, OnnxOptions o) throws Exception {
        Path f = Files.write(dir.resolve("m" + System.nanoTime() + ".onnx"), m.toByteArray());
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxImporter.read(f, o));
        assertEquals(f.toString(), e.source());
        assertFalse(JAVA_TEXT.matcher(e.getMessage()).find(), e.getMessage());
        return e;
    }

    /** Asserts the one error of a graph: where is the node (name and op type), reason the exact words. */
    private void rejects(OnnxGraphBuilder b, String where, String reason) throws Exception {
        ModelFormatException e = fails(b.model(), OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(where, e.location(), e.getMessage());
        assertEquals(reason, e.reason(), e.getMessage());
    }

    private static OnnxGraphBuilder image() {
        return new OnnxGraphBuilder(13).input("x", FLOAT, "N", 3, 8, 8);
    }

    @Test
    void missingInputs() throws Exception {
        var b = image();
        rejects(b.output(b.node("Conv", List.of("x"), is("kernel_shape", 3, 3))), "node 'conv_0_node' (Conv)",
                "takes 2 to 3 inputs, but input 1 is missing");
        var c = image();
        rejects(c.output(c.node("Add", List.of("x", ""))), "node 'add_0_node' (Add)",
                "takes 2 inputs, but input 1 is missing");
        var d = image();
        String bn = d.node("BatchNormalization", List.of("x", d.weight("s", 3), d.weight("b", 3)));
        rejects(d.output(bn), "node 'batchnormalization_0_node' (BatchNormalization)",
                "takes 5 inputs, but input 3 is missing");
        var e = image();
        rejects(e.output(e.node("Reshape", List.of("x"))), "node 'reshape_0_node' (Reshape)",
                "takes 2 inputs, but input 1 is missing");
        var f = image();
        rejects(f.output(f.node("Relu", List.of("x", "x"))), "node 'relu_0_node' (Relu)", "takes 1 input, got 2");
        var g = image();
        String sh = g.node("Shape", List.of("x"));
        rejects(g.output(g.node("Unsqueeze", List.of(sh))), "node 'unsqueeze_1_node' (Unsqueeze)",
                "Unsqueeze needs axes");
        var h = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6);
        rejects(h.output(h.node("Pad", List.of("x", "", h.scalar(0)))), "node 'pad_1_node' (Pad)",
                "input 1 (pads) is missing");
    }

    @Test
    void attributesOfTheWrongType() throws Exception {
        var b = image();
        rejects(b.output(b.node("Flatten", List.of("x"), f("axis", 1))), "node 'flatten_0_node' (Flatten)",
                "attribute 'axis' must be an integer, but the file gives a number");
        var c = image();
        String y = c.node("Conv", List.of("x", c.weight("w", 4, 3, 3, 3)), i("strides", 2));
        rejects(c.output(y), "node 'conv_0_node' (Conv)",
                "attribute 'strides' must be a list of integers, but the file gives an integer");
        var d = image();
        rejects(d.output(d.node("Pad", List.of("x", d.ints(0, 0, 1, 1, 0, 0, 1, 1)), i("mode", 3))),
                "node 'pad_1_node' (Pad)", "attribute 'mode' must be a string, but the file gives an integer");
        var e = image();
        rejects(e.output(e.node("LeakyRelu", List.of("x"), s("alpha", "much"))), "node 'leakyrelu_0_node' (LeakyRelu)",
                "attribute 'alpha' must be a number, but the file gives a string");
        var g = image();
        g.g.addNode(NodeProto.newBuilder().setOpType("Constant").setName("k").addOutput("k"));
        rejects(g.output(g.node("Add", List.of("x", "k"))), "node 'k' (Constant)", "has no value");
    }

    @Test
    void zeroStepsAndStrides() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 10, 16);
        String y = b.node("Slice", List.of("x", b.ints(0), b.ints(8), b.ints(1), b.ints(0)));
        rejects(b.output(y), "node 'slice_4_node' (Slice)", "a slice step must not be 0");
        // the same inside a folded shape computation
        var c = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 10, 16);
        String sh = c.node("Shape", List.of("x"));
        String cut = c.node("Slice", List.of(sh, c.ints(1), c.ints(2), c.ints(0), c.ints(0)));
        rejects(c.output(c.node("Reshape", List.of("x", cut))), "node 'slice_5_node' (Slice)",
                "a slice step must not be 0");
        var d = image();
        String conv = d.node("Conv", List.of("x", d.weight("w", 4, 3, 3, 3)), is("strides", 0, 1));
        rejects(d.output(conv), "node 'conv_0_node' (Conv)", "the strides must be at least 1, got [0, 1]");
        var e = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 10);
        String r = e.node("Range", List.of(e.intScalar(0), e.intScalar(4), e.intScalar(0)));
        rejects(e.output(e.node("Reshape", List.of("x", r))), "node 'range_3_node' (Range)",
                "the delta of a Range must not be 0");
    }

    @Test
    void outOfRangeAxes() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6).input("z", FLOAT, "N", 6);
        rejects(b.output(b.node("Concat", List.of("x", "z"), i("axis", 5))), "node 'concat_0_node' (Concat)",
                "the axis 5 is out of range for a tensor of rank 2");
        var c = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6);
        rejects(c.output(c.node("Unsqueeze", List.of("x", c.ints(7)))), "node 'unsqueeze_1_node' (Unsqueeze)",
                "the axis 7 is out of range for a tensor of rank 3");
        var d = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6, 4);
        rejects(d.output(d.node("Transpose", List.of("x"), is("perm", 0, 3, 1))), "node 'transpose_0_node' (Transpose)",
                "the perm entry 3 is out of range for a tensor of rank 3");
        var e = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6, 4);
        rejects(e.output(e.node("Transpose", List.of("x"), is("perm", 0, 1, 1))), "node 'transpose_0_node' (Transpose)",
                "perm [0, 1, 1] is not a permutation of the axes");
        var f = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6, 4);
        rejects(f.output(f.node("Gather", List.of("x", f.intScalar(1)), i("axis", -4))),
                "node 'gather_1_node' (Gather)", "the axis -4 is out of range for a tensor of rank 3");
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6, 4);
        rejects(g.output(g.node("Gather", List.of("x", g.intScalar(9)), i("axis", 1))),
                "node 'gather_1_node' (Gather)", "the index 9 is out of range for a dimension of 6");
        var h = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6, 4);
        rejects(h.output(h.node("ReduceMean", List.of("x"), is("axes", 3))), "node 'reducemean_0_node' (ReduceMean)",
                "the axis 3 is out of range for a tensor of rank 3");
        var k = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6, 4);
        rejects(k.output(k.node("Flatten", List.of("x"), i("axis", 4))), "node 'flatten_0_node' (Flatten)",
                "the axis 4 is out of range for a tensor of rank 3");
    }

    @Test
    void otherBadValues() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6);
        b.nodeOut("Split", List.of("x", b.ints(2, 2, 2)), List.of("p", "q"), i("axis", 1));
        rejects(b.output("p"), "node 'p_node' (Split)", "gives 3 split sizes for 2 outputs");
        var c = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6);
        rejects(c.output(c.node("Slice", List.of("x", c.ints(4), c.ints(2), c.ints(1)))), "node 'slice_3_node' (Slice)",
                "the slice of axis 1 is empty (from 4 to 2); MemPlan cannot model an empty tensor");
        var d = image();
        rejects(d.output(d.node("MaxPool", List.of("x"), is("strides", 2, 2))), "node 'maxpool_0_node' (MaxPool)",
                "attribute 'kernel_shape' is missing");
        var e = image();
        rejects(e.output(e.node("Conv", List.of("x", e.weight("w", 4, 3, 3, 3)), i("group", 0))),
                "node 'conv_0_node' (Conv)", "the group count must be at least 1, got 0");
    }

    /** Ops that are only folded (Neg, Range) are unsupported on tensors, also after an unsupported operator. */
    @Test
    void foldOnlyOpsOnTensorsAreCountedAsUnsupported() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6);
        String t = b.node("Unique", List.of("x"));
        String neg = b.node("Neg", List.of(t));
        ModelFormatException e = fails(b.output(b.node("Relu", List.of(b.node("Neg", List.of(neg))))).model(),
                OnnxOptions.defaults());
        assertEquals("graph", e.location());
        assertTrue(e.reason().startsWith("unsupported operators: Neg x2, Unique x1."), e.reason());
    }

    // ---------------------------------------------------------------- a sweep of mutations

    private static List<AttributeProto> wrongForms(AttributeProto a) {
        List<AttributeProto> out = new ArrayList<>();
        out.add(a.toBuilder().setType(AttributeType.FLOAT).setF(2.5f).build());
        out.add(a.toBuilder().setType(AttributeType.INT).setI(-99).build());
        out.add(a.toBuilder().setType(AttributeType.INTS).clearInts().addInts(0).addInts(99).build());
        out.add(a.toBuilder().setType(AttributeType.INTS).clearInts().addAllInts(List.of(0L, 0L, 0L, 0L)).build());
        out.add(a.toBuilder().setType(AttributeType.INTS).clearInts().addAllInts(List.of(Long.MAX_VALUE, -7L, 3L, -1L))
                .build());
        return out;
    }

    /** Every node of some exported networks, broken in many ways: each failure is one clear error, never a crash. */
    @Test
    void mutatedNodesNeverGiveJavaExceptionText() throws Exception {
        OnnxOptions mse = OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE);
        Map<ModelProto, OnnxOptions> models = new LinkedHashMap<>();
        models.put(OnnxExporter.export(OnnxRoundTripTest.lenet5(), 11, null), mse);
        models.put(OnnxExporter.export(OnnxRoundTripTest.resnetBlock(), 13, null), mse);
        ModelProto transformer = OnnxExporter.export(OnnxRoundTripTest.transformerBlock(), 13, null);
        models.put(transformer, mse.withInputShape("ids", 1, 16));
        models.put(shapeChain(), mse);
        int failures = 0;
        for (var entry : models.entrySet()) {
            ModelProto m = entry.getKey();
            OnnxOptions o = entry.getValue();
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < m.getGraph().getNodeCount(); i++) {
                NodeProto n = m.getGraph().getNode(i);
                // one node of each form is enough (the transformer repeats its blocks)
                List<String> attrs = n.getAttributeList().stream().map(AttributeProto::getName).toList();
                if (!seen.add(n.getOpType() + n.getInputCount() + attrs)) continue;
                List<NodeProto> variants = new ArrayList<>();
                variants.add(n.toBuilder().clearInput().build());
                if (n.getInputCount() > 1) variants.add(n.toBuilder().setInput(1, "").build());
                variants.add(n.toBuilder().addAllInput(List.of(n.getInputCount() > 0 ? n.getInput(0) : "x", "", ""))
                        .addInput(n.getInputCount() > 0 ? n.getInput(0) : "x").build());
                for (int a = 0; a < n.getAttributeCount(); a++) {
                    for (AttributeProto w : wrongForms(n.getAttribute(a))) variants.add(n.toBuilder().setAttribute(a, w)
                            .build());
                    variants.add(n.toBuilder().removeAttribute(a).build());
                }
                for (NodeProto v : variants) {
                    ModelProto bad = m.toBuilder().setGraph(m.getGraph().toBuilder().setNode(i, v)).build();
                    Path f = Files.write(dir.resolve("bad.onnx"), bad.toByteArray());
                    try {
                        OnnxImporter.read(f, o);
                    } catch (ModelFormatException e) {
                        failures++;
                        assertFalse(JAVA_TEXT.matcher(e.getMessage()).find(), n.getOpType() + ": " + e.getMessage());
                        assertNotNull(e.location(), e.getMessage());
                    }
                }
            }
        }
        assertTrue(failures > 150, "mutations that failed: " + failures);
    }

    /** x.view(x.size(0), -1) as exporters write it. */
    private static ModelProto shapeChain() {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4, 3, 2);
        String sh = b.node("Shape", List.of("x"));
        String n = b.node("Gather", List.of(sh, b.intScalar(0)), i("axis", 0));
        String un = b.node("Unsqueeze", List.of(n, b.ints(0)));
        String cat = b.node("Concat", List.of(un, b.ints(-1)), i("axis", 0));
        String sl = b.node("Slice", List.of(cat, b.ints(0), b.ints(2), b.ints(0), b.ints(1)));
        return b.output(b.node("Reshape", List.of("x", sl))).model();
    }
}

package memplan.onnx;

import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.onnx.proto.Onnx.NodeProto;

import java.util.ArrayList;
import java.util.List;

/**
 * The com.microsoft nodes onnxruntime's graph optimiser writes for common fusions, spelt out as the standard nodes
 * they fuse (which then convert as usual, with the same memory as the unfused graph): FusedConv (Conv and its
 * activation), FusedMatMul (MatMul, transB a Transpose; alpha scales values only), BiasGelu and FastGelu (Add and
 * Gelu), Gelu, and SkipLayerNormalization (the residual Adds, then LayerNormalization; its optional sum output is
 * the Add's). Any other com.microsoft node, or a form not listed here, is unsupported and named as such.
 */
final class MicrosoftNodes {
    static final String DOMAIN = "com.microsoft";

    private MicrosoftNodes() {
    }

    private static NodeProto node(NodeProto of, String suffix, String opType, List<String> ins, String out,
                                  AttributeProto... attrs) {
        NodeProto.Builder b = NodeProto.newBuilder().setName(OnnxNode.hint(of) + "/" + suffix).setOpType(opType)
                .addAllInput(ins).addOutput(out);
        for (AttributeProto a : attrs) b.addAttribute(a);
        return b.build();
    }

    private static AttributeProto attr(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) if (a.getName().equals(name)) return a;
        return null;
    }

    private static long intAttr(NodeProto n, String name) {
        AttributeProto a = attr(n, name);
        return a == null ? 0 : a.getI();
    }

    private static String in(NodeProto n, int k) {
        return k < n.getInputCount() ? n.getInput(k) : "";
    }

    private static Unsupported unsupported(NodeProto n, String form, String why) {
        return new Unsupported(DOMAIN + "." + n.getOpType() + form, why);
    }

    /**
     * The standard nodes a com.microsoft node stands for, in order; throws {@link Unsupported} for one MemPlan does
     * not spell out.
     */
    static List<NodeProto> expand(NodeProto n) {
        String y = n.getOutputCount() > 0 ? n.getOutput(0) : "";
        String tmp = y + "/" + n.getOpType() + "_unfused";
        List<NodeProto> out = new ArrayList<>();
        switch (n.getOpType()) {
            case "FusedConv" -> {
                if (!in(n, 3).isEmpty())
                    throw unsupported(n, " (with a sum input)", "the fused residual input Z is not spelt out");
                List<AttributeProto> conv = new ArrayList<>();
                for (AttributeProto a : n.getAttributeList())
                    if (!a.getName().startsWith("activation")) conv.add(a);
                AttributeProto act = attr(n, "activation");
                String a = act == null ? "" : act.getS().toStringUtf8();
                String convOut = a.isEmpty() ? y : tmp;
                out.add(node(n, "Conv", "Conv", n.getInputList().subList(0, Math.min(3, n.getInputCount())), convOut,
                        conv.toArray(new AttributeProto[0])));
                switch (a) {
                    case "" -> { }
                    case "Relu", "Tanh", "Sigmoid" -> out.add(node(n, a, a, List.of(tmp), y));
                    case "LeakyRelu" -> {
                        AttributeProto p = attr(n, "activation_params");
                        float alpha = p != null && p.getFloatsCount() > 0 ? p.getFloats(0) : 0.01f;
                        out.add(node(n, a, a, List.of(tmp), y, AttributeProto.newBuilder().setName("alpha")
                                .setType(AttributeProto.AttributeType.FLOAT).setF(alpha).build()));
                    }
                    default -> throw unsupported(n, " (activation " + a + ")", "activation " + a
                            + " is not spelt out");
                }
            }
            case "FusedMatMul" -> {
                if (intAttr(n, "transA") != 0 || intAttr(n, "transBatchA") != 0 || intAttr(n, "transBatchB") != 0)
                    throw unsupported(n, " (transposed A)", "only B may be transposed");
                String b = in(n, 1);
                if (intAttr(n, "transB") != 0) {
                    // the last two axes of B swapped: MatMul reads such a Transpose as transposeB (no copy)
                    out.add(node(n, "Transpose", "Transpose", List.of(b), tmp + "_b"));
                    b = tmp + "_b";
                }
                out.add(node(n, "MatMul", "MatMul", List.of(in(n, 0), b), y));
            }
            case "BiasGelu", "FastGelu", "Gelu" -> {
                String x = in(n, 0);
                if (!in(n, 1).isEmpty()) {
                    out.add(node(n, "Add", "Add", List.of(x, in(n, 1)), tmp));
                    x = tmp;
                }
                out.add(node(n, "Gelu", "Gelu", List.of(x), y));
            }
            case "SkipLayerNormalization" -> {
                for (int k = 1; k < 3; k++)
                    if (k < n.getOutputCount() && !n.getOutput(k).isEmpty())
                        throw unsupported(n, " (mean or inverse variance output)", "its statistics outputs are "
                                + "not spelt out");
                String sum = n.getOutputCount() > 3 && !n.getOutput(3).isEmpty() ? n.getOutput(3) : tmp;
                boolean bias = !in(n, 4).isEmpty();
                out.add(node(n, "Add", "Add", List.of(in(n, 0), in(n, 1)), bias ? tmp + "_skip" : sum));
                if (bias) out.add(node(n, "Add_bias", "Add", List.of(tmp + "_skip", in(n, 4)), sum));
                List<String> ln = new ArrayList<>(List.of(sum, in(n, 2)));
                if (!in(n, 3).isEmpty()) ln.add(in(n, 3));
                AttributeProto eps = attr(n, "epsilon");
                out.add(eps == null ? node(n, "LayerNormalization", "LayerNormalization", ln, y)
                        : node(n, "LayerNormalization", "LayerNormalization", ln, y, eps));
            }
            default -> throw unsupported(n, "", null);
        }
        return out;
    }
}

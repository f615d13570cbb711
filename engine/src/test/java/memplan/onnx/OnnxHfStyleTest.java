package memplan.onnx;

import memplan.model.ModelDef;
import memplan.ir.Shape;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A GPT-2 block written node by node the way HuggingFace's GPT-2 exports (opset 14): position ids from
 * Shape/Range, Conv1D as Reshape/Gemm/Reshape with computed shapes, Split into q/k/v, a causal mask sliced from a
 * buffer and applied with Where, the tanh GELU spelled out, LayerNorm decomposed, and an LM head tied to wte.
 */
class OnnxHfStyleTest {
    @TempDir
    Path dir;

    static final int D = 32, HEADS = 2, VOCAB = 100, CTX = 64, T = 16;

    /** x [N, T, in] -> Reshape [-1, in] -> Gemm(W [in, out], b) -> Reshape [N, T, out] with the shape computed. */
    private static String conv1d(OnnxGraphBuilder b, String x, String name, int in, int out) {
        String sh = b.node("Shape", List.of(x));
        String lead = b.node("Slice", List.of(sh, b.ints(0), b.ints(-1), b.ints(0)));
        String flat = b.node("Reshape", List.of(x, b.ints(-1, in)));
        String g = b.node("Gemm", List.of(flat, b.weight(name + ".weight", in, out), b.weight(name + ".bias", out)));
        String target = b.node("Concat", List.of(lead, b.ints(out)), i("axis", 0));
        return b.node("Reshape", List.of(g, target));
    }

    private static String layerNorm(OnnxGraphBuilder b, String x, String name) {
        String mean = b.node("ReduceMean", List.of(x), is("axes", -1));
        String d = b.node("Sub", List.of(x, mean));
        String sq = b.node("Pow", List.of(d, b.scalar(2)));
        String var = b.node("ReduceMean", List.of(sq), is("axes", -1));
        String std = b.node("Sqrt", List.of(b.node("Add", List.of(var, b.scalar(1e-5f)))));
        String n = b.node("Div", List.of(d, std));
        return b.node("Add", List.of(b.node("Mul", List.of(n, b.weight(name + ".weight", D))), b.weight(name + ".bias", D)));
    }

    private static String heads(OnnxGraphBuilder b, String x, long... perm) {
        String sh = b.node("Shape", List.of(x));
        String lead = b.node("Slice", List.of(sh, b.ints(0), b.ints(-1), b.ints(0)));
        String target = b.node("Concat", List.of(lead, b.ints(HEADS, D / HEADS)), i("axis", 0));
        return b.node("Transpose", List.of(b.node("Reshape", List.of(x, target))), is("perm", perm));
    }

    static OnnxGraphBuilder gpt2Block() {
        var b = new OnnxGraphBuilder(14).input("input_ids", INT64, "batch_size", "sequence_length");
        String wte = b.weight("wte", VOCAB, D);
        String seq = b.node("Gather", List.of(b.node("Shape", List.of("input_ids")), b.intScalar(1)), i("axis", 0));
        String pos = b.node("Unsqueeze", List.of(b.node("Range", List.of(b.intScalar(0), seq, b.intScalar(1))), b.ints(0)));
        String h = b.node("Add", List.of(b.node("Gather", List.of(wte, "input_ids")), b.node("Gather", List.of(b.weight("wpe", CTX, D), pos))));

        String qkv = conv1d(b, layerNorm(b, h, "ln_1"), "c_attn", D, 3 * D);
        b.nodeOut("Split", List.of(qkv, b.ints(D, D, D)), List.of("q", "k", "v"), i("axis", 2));
        String q = heads(b, "q", 0, 2, 1, 3), k = heads(b, "k", 0, 2, 3, 1), v = heads(b, "v", 0, 2, 1, 3);
        String s = b.node("Div", List.of(b.node("MatMul", List.of(q, k)), b.scalar((float) Math.sqrt(D / HEADS))));
        String bias = "causal";
        b.g.addInitializer(memplan.onnx.proto.Onnx.TensorProto.newBuilder().setName(bias)
                .setDataType(memplan.onnx.proto.Onnx.TensorProto.DataType.BOOL_VALUE).addDims(1).addDims(1).addDims(CTX).addDims(CTX)
                .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[CTX * CTX])));
        String mask = b.node("Slice", List.of(bias, b.ints(0, 0), b.node("Concat", List.of(b.node("Unsqueeze", List.of(seq, b.ints(0))),
                b.node("Unsqueeze", List.of(seq, b.ints(0)))), i("axis", 0)), b.ints(2, 3)));
        String masked = b.node("Where", List.of(mask, s, b.scalar(-3.4028235e38f)));
        String ctx = b.node("MatMul", List.of(b.node("Softmax", List.of(masked), i("axis", -1)), v));
        String merged = b.node("Transpose", List.of(ctx), is("perm", 0, 2, 1, 3));
        String flat = b.node("Reshape", List.of(merged, b.node("Concat", List.of(b.node("Slice", List.of(b.node("Shape", List.of(merged)),
                b.ints(0), b.ints(2), b.ints(0))), b.ints(D)), i("axis", 0))));
        String r1 = b.node("Add", List.of(h, conv1d(b, flat, "c_proj", D, D)));

        String fc = conv1d(b, layerNorm(b, r1, "ln_2"), "c_fc", D, 4 * D);
        String cube = b.node("Mul", List.of(b.node("Pow", List.of(fc, b.scalar(3))), b.scalar(0.044715f)));
        String inner = b.node("Mul", List.of(b.node("Add", List.of(fc, cube)), b.scalar((float) Math.sqrt(2 / Math.PI))));
        String gelu = b.node("Mul", List.of(b.node("Mul", List.of(fc, b.scalar(0.5f))), b.node("Add", List.of(b.node("Tanh", List.of(inner)), b.scalar(1)))));
        String r2 = b.node("Add", List.of(r1, conv1d(b, gelu, "c_proj2", 4 * D, D)));

        String lnf = layerNorm(b, r2, "ln_f");
        String logits = b.node("MatMul", List.of(lnf, b.node("Transpose", List.of(wte), is("perm", 1, 0))));
        return b.output(logits);
    }

    @Test
    void importsWithTheRightParametersAndNoOpaqueOps() throws Exception {
        ModelDef m = gpt2Block().load(dir, OnnxOptions.defaults().withInputShape("input_ids", 1, T).withLoss(OnnxOptions.Loss.CE));
        long expected = VOCAB * D + T * D /* wpe rows used */ + 3 * 2 * D + (D * 3 * D + 3 * D) + (D * D + D) + (D * 4 * D + 4 * D) + (4 * D * D + D);
        assertEquals(expected, at(m, 2).parameterCount());
        assertEquals(0, count(m, "Opaque"));
        assertEquals(3, count(m, "LayerNorm"));
        assertEquals(1, count(m, "MaskedFill"));
        assertEquals(Shape.of(3, T, VOCAB), outShape(m, 3));
        long p1 = MemoryProfile.of(TrainingGraph.derive(at(m, 1), Optimizer.ADAM)).peakBytes();
        long p4 = MemoryProfile.of(TrainingGraph.derive(at(m, 4), Optimizer.ADAM)).peakBytes();
        assertTrue(p4 > p1, p1 + " " + p4);
        memplan.io.ModelJson.parse(memplan.io.ModelJson.write(m), "gpt2 block json");
    }
}

package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.Attention;
import memplan.ops.CrossEntropy;
import memplan.ops.Dropout;
import memplan.ops.Embedding;
import memplan.ops.GELU;
import memplan.ops.LayerNorm;
import memplan.ops.Linear;
import memplan.ops.MatMul;
import memplan.ops.Reshape;
import memplan.ops.Softmax;
import memplan.ops.Transpose;

import java.util.List;
import java.util.Map;

/**
 * tiny-transformer: a GPT-style language model for fast tests: vocabulary 64, width 32, 4 heads, sequence 16,
 * two pre-LN blocks. Block 0 uses the fused Attention op (causal); block 1 writes attention out unfused:
 * per-head Reshape + Transpose, MatMul (Q K^T), Softmax, MatMul with V, Transpose + Reshape back. The unfused
 * form leaves out the causal mask and the 1/sqrt(d) scale (which change no shapes). lm_head is tied to wte.
 */
final class TinyTransformerBuilder {
    static final int VOCAB = 64, WIDTH = 32, HEADS = 4, SEQ = 16, LAYERS = 2;

    private TinyTransformerBuilder() {
    }

    static ModelDef tinyTransformer() {
        Net n = new Net("tiny-transformer",
                "Tiny GPT-style transformer: 2 pre-LN blocks, width 32, 4 heads, sequence 16, "
                + "vocabulary 64; block 0 fused causal Attention, block 1 unfused MatMul/Softmax/MatMul attention");
        n.dim("T", SEQ);
        String tokens = n.intInput("tokens", "N", "T");
        String positions = n.intInput("positions", "N", "T");
        String target = n.intInput("target", "N", "T");
        String te = n.add("wte", new Embedding(VOCAB, WIDTH), tokens);
        String pe = n.add("wpe", new Embedding(SEQ, WIDTH), positions);
        String x = n.add("embed_add", new Add(), te, pe);
        x = n.add("embed_dropout", new Dropout(0.1), x);
        for (int i = 0; i < LAYERS; i++) x = block(n, "h." + i + ".", x, i == 0);
        x = n.add("ln_f", new LayerNorm(1e-5), x);
        x = n.addTied("lm_head", new Linear(VOCAB, false), Map.of("weight", "wte.weight"), x);
        n.add("loss", new CrossEntropy(-1), x, target);
        return n.build();
    }

    private static String block(Net n, String p, String in, boolean fused) {
        String h = n.add(p + "ln_1", new LayerNorm(1e-5), in);
        String q = n.add(p + "attn.q", new Linear(WIDTH, true), h);
        String k = n.add(p + "attn.k", new Linear(WIDTH, true), h);
        String v = n.add(p + "attn.v", new Linear(WIDTH, true), h);
        String x = fused ? n.add(p + "attn.attention", new Attention(HEADS, true), q, k, v)
                : unfused(n, p + "attn.", q, k, v);
        x = n.add(p + "attn.c_proj", new Linear(WIDTH, true), x);
        String r = n.add(p + "add_1", new Add(), x, in);
        x = n.add(p + "ln_2", new LayerNorm(1e-5), r);
        x = n.add(p + "mlp.c_fc", new Linear(4 * WIDTH, true), x);
        x = n.add(p + "mlp.gelu", new GELU(), x);
        x = n.add(p + "mlp.c_proj", new Linear(WIDTH, true), x);
        return n.add(p + "add_2", new Add(), x, r);
    }

    /** softmax(Q K^T) V per head, written with MatMul, Softmax, Reshape and Transpose. */
    private static String unfused(Net n, String p, String q, String k, String v) {
        q = heads(n, p + "q", q);
        k = heads(n, p + "k", k);
        v = heads(n, p + "v", v);
        String s = n.add(p + "scores", new MatMul(true), q, k);
        s = n.add(p + "softmax", new Softmax(), s);
        String x = n.add(p + "context", new MatMul(false), s, v);
        x = n.add(p + "merge_heads", new Transpose(List.of(0, 2, 1, 3)), x);
        return n.add(p + "merge", new Reshape(List.of(0, 0, WIDTH)), x);
    }

    /** [N, T, D] -> [N, heads, T, D/heads]. */
    private static String heads(Net n, String p, String x) {
        x = n.add(p + ".split", new Reshape(List.of(0, 0, HEADS, WIDTH / HEADS)), x);
        return n.add(p + ".heads", new Transpose(List.of(0, 2, 1, 3)), x);
    }
}

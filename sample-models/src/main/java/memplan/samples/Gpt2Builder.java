package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.Attention;
import memplan.ops.CrossEntropy;
import memplan.ops.Embedding;
import memplan.ops.GELU;
import memplan.ops.LayerNorm;
import memplan.ops.Linear;

import java.util.Map;

/**
 * gpt2-small: GPT-2 small (124M), named as Hugging Face's GPT2LMHeadModel; gpt-1.3b: the same GPT-2 layout at
 * GPT-3 XL's size (24 blocks, width 2048; 16 heads of 128), for `memplan fit`. Token and position embeddings are
 * added; 12 pre-LN blocks, each with q/k/v as three Linear(768) (the same parameters as GPT-2's one 768->2304
 * c_attn), fused causal Attention with 12 heads, an output projection and a residual Add, then LayerNorm,
 * Linear 3072, GELU, Linear 768 and a residual Add; a final LayerNorm and an lm_head without bias tied to the
 * token embedding. No dropout, as in nanoGPT's GPT-2 pre-training setting.
 */
final class Gpt2Builder {
    static final int VOCAB = 50257, CONTEXT = 1024;

    private Gpt2Builder() {
    }

    static ModelDef gpt2Small() {
        return gpt("gpt2-small", "GPT-2 small (124M): 12 pre-LN blocks, width 768, 12 causal heads, context 1024, "
                + "lm_head tied to the token embedding, no dropout; next-token CrossEntropy over 50257 tokens",
                768, 12, 12);
    }

    static ModelDef gpt13b() {
        return gpt("gpt-1.3b", "GPT-2-style decoder at GPT-3 XL's size (1.3B): 24 pre-LN blocks, width 2048, 16 causal "
                + "heads, context 1024, lm_head tied to the token embedding, no dropout; next-token CrossEntropy over "
                + "50257 tokens", 2048, 24, 16);
    }

    private static ModelDef gpt(String name, String description, int width, int layers, int heads) {
        Net n = new Net(name, description);
        n.dim("T", CONTEXT);
        String tokens = n.intInput("tokens", "N", "T");
        String positions = n.intInput("positions", "N", "T");
        String target = n.intInput("target", "N", "T");
        String te = n.add("wte", new Embedding(VOCAB, width), tokens);
        String pe = n.add("wpe", new Embedding(CONTEXT, width), positions);
        String x = n.add("embed_add", new Add(), te, pe);
        for (int i = 0; i < layers; i++) x = block(n, "h." + i + ".", x, width, heads);
        x = n.add("ln_f", new LayerNorm(1e-5), x);
        x = n.addTied("lm_head", new Linear(VOCAB, false), Map.of("weight", "wte.weight"), x);
        n.add("loss", new CrossEntropy(-1), x, target);
        return n.build();
    }

    private static String block(Net n, String p, String in, int width, int heads) {
        String h = n.add(p + "ln_1", new LayerNorm(1e-5), in);
        String q = n.add(p + "attn.q", new Linear(width, true), h);
        String k = n.add(p + "attn.k", new Linear(width, true), h);
        String v = n.add(p + "attn.v", new Linear(width, true), h);
        String x = n.add(p + "attn.attention", new Attention(heads, true), q, k, v);
        x = n.add(p + "attn.c_proj", new Linear(width, true), x);
        String r = n.add(p + "add_1", new Add(), x, in);
        x = n.add(p + "ln_2", new LayerNorm(1e-5), r);
        x = n.add(p + "mlp.c_fc", new Linear(4 * width, true), x);
        x = n.add(p + "mlp.gelu", new GELU(), x);
        x = n.add(p + "mlp.c_proj", new Linear(width, true), x);
        return n.add(p + "add_2", new Add(), x, r);
    }
}

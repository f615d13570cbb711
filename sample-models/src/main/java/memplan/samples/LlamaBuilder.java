package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.Attention;
import memplan.ops.CrossEntropy;
import memplan.ops.Embedding;
import memplan.ops.GatedActivation;
import memplan.ops.Linear;
import memplan.ops.RMSNorm;
import memplan.ops.RotaryEmbedding;

import java.util.Map;

/**
 * Llama-style decoder-only language models, named as Hugging Face's LlamaForCausalLM so that name patterns written
 * for it match ({@code model.layers.3.self_attn.q_proj}, {@code model.layers.3.mlp.gate_proj}, ...): token embedding
 * {@code model.embed_tokens}; per layer {@code input_layernorm} (RMSNorm), q/k/v projections without bias (k and
 * v with kvHeads heads: grouped-query attention), rotary embedding of q and k, causal attention (fused or eager),
 * {@code o_proj} and a residual Add, {@code post_attention_layernorm}, the SwiGLU MLP ({@code gate_proj},
 * {@code up_proj}, SiLU(gate) * up, {@code down_proj}) and a residual Add; {@code model.norm}; {@code lm_head}
 * (tied to the embedding where the published model ties it); next-token CrossEntropy. No dropout, no biases.
 */
final class LlamaBuilder {
    /**
     * One configuration.
     *
     * @param tied lm_head shares the token embedding (Llama 3.2 1B, SmolLM)
     */
    record Config(String name, String description, int vocab, int width, int layers, int heads, int kvHeads,
                  int intermediate, int context, double ropeTheta, double eps, boolean tied, Attention.Form form) {
        int headDim() {
            return width / heads;
        }
    }

    /** Llama-2-7B: 6,738,415,616 parameters. */
    static final Config LLAMA2_7B = new Config("llama2-7b", "Llama-2-7B (6.74B): 32 layers, width 4096, 32 heads, "
            + "SwiGLU 11008, vocabulary 32000, context 4096, fused causal attention",
            32000, 4096, 32, 32, 32, 11008, 4096, 10000, 1e-5, false, Attention.Form.FUSED);
    /** Llama-3-8B: 8,030,261,248 parameters. */
    static final Config LLAMA3_8B = new Config("llama3-8b", "Llama-3-8B (8.03B): 32 layers, width 4096, 32 query "
            + "heads over 8 key/value heads (GQA), SwiGLU 14336, vocabulary 128256, context 8192, fused causal "
            + "attention",
            128256, 4096, 32, 32, 8, 14336, 8192, 500000, 1e-5, false, Attention.Form.FUSED);
    /** Mistral-7B (v0.1): 7,241,732,096 parameters; its 4096-token sliding window is not modelled (full causal). */
    static final Config MISTRAL_7B = new Config("mistral-7b", "Mistral-7B v0.1 (7.24B): 32 layers, width 4096, 32 "
            + "query heads over 8 key/value heads, SwiGLU 14336, vocabulary 32000, full causal attention over the "
            + "context (the 4096-token sliding window is not modelled), fused", 32000, 4096, 32, 32, 8, 14336, 4096,
            10000, 1e-5, false, Attention.Form.FUSED);
    /** Llama-3.2-1B: 1,235,814,400 parameters, lm_head tied to the embedding. */
    static final Config LLAMA32_1B = new Config("llama3.2-1b", "Llama-3.2-1B (1.24B): 16 layers, width 2048, 32 "
            + "query heads over 8 key/value heads, SwiGLU 8192, vocabulary 128256, lm_head tied, context 2048 here, "
            + "fused causal attention", 128256, 2048, 16, 32, 8, 8192, 2048, 500000, 1e-5, true,
            Attention.Form.FUSED);
    /** SmolLM-135M, a Llama-style model of GPT-2 small's size: 134,515,008 parameters. */
    static final Config SMOLLM_135M = new Config("smollm-135m", "SmolLM-135M, Llama-style (135M): 30 layers, "
            + "width 576, 9 query heads over 3 key/value heads, SwiGLU 1536, vocabulary 49152, lm_head tied, "
            + "context 2048, fused causal attention", 49152, 576, 30, 9, 3, 1536, 2048, 10000, 1e-5, true,
            Attention.Form.FUSED);
    /**
     * tiny-llama: trains on the CPU backend in well under a second; eager attention, as PyTorch 1.13 runs a
     * plain Llama (tools/pytorch/llama.py builds the same model for the fidelity check).
     */
    static final Config TINY = new Config("tiny-llama", "Tiny Llama-style model for fast tests and the PyTorch check: "
            + "2 layers, width 32, 4 query heads over 2 key/value heads, SwiGLU 64, vocabulary 64, sequence 16, eager "
            + "causal attention", 64, 32, 2, 4, 2, 64, 16, 10000, 1e-6, false, Attention.Form.EAGER);
    /** small-llama: the larger of the two sizes the PyTorch check measures. */
    static final Config SMALL = new Config("small-llama", "Small Llama-style model for the PyTorch check: 4 layers, "
            + "width 256, 8 query heads over 2 key/value heads, SwiGLU 688, vocabulary 2048, sequence 128, eager "
            + "causal attention", 2048, 256, 4, 8, 2, 688, 128, 10000, 1e-6, false, Attention.Form.EAGER);

    private LlamaBuilder() {
    }

    static ModelDef build(Config c) {
        Net n = new Net(c.name(), c.description());
        n.dim("T", c.context());
        String tokens = n.intInput("tokens", "N", "T");
        String target = n.intInput("target", "N", "T");
        String x = n.add("model.embed_tokens", new Embedding(c.vocab(), c.width()), tokens);
        for (int i = 0; i < c.layers(); i++) x = layer(n, c, "model.layers." + i + ".", x);
        x = n.add("model.norm", new RMSNorm(c.eps()), x);
        x = c.tied() ? n.addTied("lm_head", new Linear(c.vocab(), false), Map.of("weight", "model.embed_tokens.weight"),
                x) : n.add("lm_head", new Linear(c.vocab(), false), x);
        n.add("loss", new CrossEntropy(-1), x, target);
        return n.build();
    }

    private static String layer(Net n, Config c, String p, String in) {
        int kvWidth = c.kvHeads() * c.headDim();
        String h = n.add(p + "input_layernorm", new RMSNorm(c.eps()), in);
        String q = n.add(p + "self_attn.q_proj", new Linear(c.width(), false), h);
        String k = n.add(p + "self_attn.k_proj", new Linear(kvWidth, false), h);
        String v = n.add(p + "self_attn.v_proj", new Linear(kvWidth, false), h);
        RotaryEmbedding rope = new RotaryEmbedding(c.headDim(), c.ropeTheta());
        q = n.add(p + "self_attn.rotary_q", rope, q);
        k = n.add(p + "self_attn.rotary_k", rope, k);
        String a = n.add(p + "self_attn.attention", new Attention(c.heads(), c.kvHeads(), true, c.form()), q, k, v);
        a = n.add(p + "self_attn.o_proj", new Linear(c.width(), false), a);
        String r = n.add(p + "residual_attn", new Add(), in, a);
        h = n.add(p + "post_attention_layernorm", new RMSNorm(c.eps()), r);
        String g = n.add(p + "mlp.gate_proj", new Linear(c.intermediate(), false), h);
        String u = n.add(p + "mlp.up_proj", new Linear(c.intermediate(), false), h);
        String m = n.add(p + "mlp.act", new GatedActivation(GatedActivation.Gate.SILU), g, u);
        m = n.add(p + "mlp.down_proj", new Linear(c.width(), false), m);
        return n.add(p + "residual_mlp", new Add(), r, m);
    }
}

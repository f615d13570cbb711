package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.Attention;
import memplan.ops.Dropout;
import memplan.ops.Embedding;
import memplan.ops.GELU;
import memplan.ops.LayerNorm;
import memplan.ops.Linear;
import memplan.ops.MseLoss;
import memplan.ops.Reshape;
import memplan.ops.Slice;
import memplan.ops.Tanh;

import java.util.List;

/**
 * bert-base: BERT-base-uncased with its pooler, named as Hugging Face's BertModel. Word, position and token-type
 * embeddings are added, normalised and dropped out; 12 post-LN encoder layers (separate q/k/v Linears, fused
 * bidirectional Attention with 12 heads, dropout 0.1 after the attention output and the feed-forward output);
 * the pooler takes the first token through Linear + Tanh. BERT's pre-training heads are not part of
 * BertModel: to keep the parameter count that of BertModel the loss is an MseLoss of the pooled output against a
 * float target [N, 768], which adds no parameters.
 */
final class BertBuilder {
    static final int VOCAB = 30522, MAX_POSITIONS = 512, TYPES = 2, WIDTH = 768, LAYERS = 12, HEADS = 12, FFN = 3072;
    static final double EPS = 1e-12, DROPOUT = 0.1;

    private BertBuilder() {
    }

    static ModelDef bertBase() {
        Net n = new Net("bert-base", "BERT-base-uncased encoder with pooler (12 post-LN layers, width 768, 12 heads); "
                + "loss: MseLoss of the pooled [N,768] output against a float target (adds no parameters)");
        n.dim("T", 128);
        String ids = n.intInput("input_ids", "N", "T");
        String pos = n.intInput("position_ids", "N", "T");
        String types = n.intInput("token_type_ids", "N", "T");
        String target = n.input("target", "N", WIDTH);
        String w = n.add("embeddings.word_embeddings", new Embedding(VOCAB, WIDTH), ids);
        String p = n.add("embeddings.position_embeddings", new Embedding(MAX_POSITIONS, WIDTH), pos);
        String t = n.add("embeddings.token_type_embeddings", new Embedding(TYPES, WIDTH), types);
        String x = n.add("embeddings.add_position", new Add(), w, p);
        x = n.add("embeddings.add_token_type", new Add(), x, t);
        x = n.add("embeddings.LayerNorm", new LayerNorm(EPS), x);
        x = n.add("embeddings.dropout", new Dropout(DROPOUT), x);
        for (int i = 0; i < LAYERS; i++) x = layer(n, "encoder.layer." + i + ".", x);
        x = n.add("pooler.first_token", new Slice(1, 0, 1), x);
        x = n.add("pooler.reshape", new Reshape(List.of(0, -1)), x);
        x = n.add("pooler.dense", new Linear(WIDTH, true), x);
        x = n.add("pooler.activation", new Tanh(), x);
        n.add("loss", new MseLoss(), x, target);
        return n.build();
    }

    private static String layer(Net n, String p, String in) {
        String q = n.add(p + "attention.self.query", new Linear(WIDTH, true), in);
        String k = n.add(p + "attention.self.key", new Linear(WIDTH, true), in);
        String v = n.add(p + "attention.self.value", new Linear(WIDTH, true), in);
        String x = n.add(p + "attention.self.attention", new Attention(HEADS, false), q, k, v);
        x = n.add(p + "attention.output.dense", new Linear(WIDTH, true), x);
        x = n.add(p + "attention.output.dropout", new Dropout(DROPOUT), x);
        x = n.add(p + "attention.output.add", new Add(), x, in);
        String a = n.add(p + "attention.output.LayerNorm", new LayerNorm(EPS), x);
        x = n.add(p + "intermediate.dense", new Linear(FFN, true), a);
        x = n.add(p + "intermediate.gelu", new GELU(), x);
        x = n.add(p + "output.dense", new Linear(WIDTH, true), x);
        x = n.add(p + "output.dropout", new Dropout(DROPOUT), x);
        x = n.add(p + "output.add", new Add(), x, a);
        return n.add(p + "output.LayerNorm", new LayerNorm(EPS), x);
    }
}

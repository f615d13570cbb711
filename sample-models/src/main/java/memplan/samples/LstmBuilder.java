package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.Concat;
import memplan.ops.CrossEntropy;
import memplan.ops.Dropout;
import memplan.ops.Embedding;
import memplan.ops.LSTMCell;
import memplan.ops.Linear;
import memplan.ops.Reshape;
import memplan.ops.Slice;
import memplan.ops.Tanh;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Unrolled LSTM language models (lstm-lm, tiny-lstm): an Embedding of the tokens [N, S]; per time step a Slice of
 * the embedded sequence reshaped to [N, E]; a chain of LSTMCells starting from the inputs h0 and c0, every step
 * tied to the first one's weights (one LSTM layer, as PyTorch's nn.LSTM); each h_t reshaped to [N, 1, H] and
 * concatenated along the time axis; a Linear to the vocabulary and CrossEntropy over the last axis.
 */
final class LstmBuilder {
    private LstmBuilder() {
    }

    static ModelDef lstmLm() {
        return build("lstm-lm",
                "LSTM language model unrolled over 64 steps: Embedding 10000x256, one LSTM layer (hidden 512, "
                + "weights shared across steps), dropout 0.2, Linear to 10000 words", 64, 10000, 256, 512, 0.2, false);
    }

    static ModelDef tinyLstm() {
        return build("tiny-lstm",
                "Tiny LSTM language model for fast tests: 8 steps, vocabulary 50, embedding and hidden 16, "
                + "Linear+Tanh projection before the output layer", 8, 50, 16, 16, 0.0, true);
    }

    private static ModelDef build(String name, String description, int steps, int vocab, int embed,
            int hidden, double dropout,
                                  boolean tanhProjection) {
        Net n = new Net(name, description);
        String tokens = n.intInput("tokens", "N", steps);
        String h = n.input("h0", "N", hidden);
        String c = n.input("c0", "N", hidden);
        String target = n.intInput("target", "N", steps);
        String e = n.add("embed", new Embedding(vocab, embed), tokens);
        if (dropout > 0) e = n.add("embed_dropout", new Dropout(dropout), e);
        List<String> outs = new ArrayList<>();
        for (int t = 0; t < steps; t++) {
            String x = n.add("x." + t, new Slice(1, t, t + 1), e);
            x = n.add("x." + t + ".flat", new Reshape(List.of(0, -1)), x);
            String cell = "lstm." + t;
            if (t == 0) n.add(cell, new LSTMCell(hidden), x, h, c);
            else n.addTied(cell, new LSTMCell(hidden), tiedToFirst(), x, h, c);
            h = cell + ":0";
            c = cell + ":1";
            outs.add(n.add("h." + t, new Reshape(List.of(0, 1, hidden)), h));
        }
        String x = n.add("concat", new Concat(1), outs.toArray(String[]::new));
        if (dropout > 0) x = n.add("dropout", new Dropout(dropout), x);
        if (tanhProjection) {
            x = n.add("proj", new Linear(hidden, true), x);
            x = n.add("proj_tanh", new Tanh(), x);
        }
        x = n.add("decoder", new Linear(vocab, true), x);
        n.add("loss", new CrossEntropy(-1), x, target);
        return n.build();
    }

    private static Map<String, String> tiedToFirst() {
        Map<String, String> tie = new LinkedHashMap<>();
        for (String p : List.of("weight_ih", "weight_hh", "bias_ih", "bias_hh")) tie.put(p, "lstm.0." + p);
        return tie;
    }
}

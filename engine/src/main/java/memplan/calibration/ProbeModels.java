package memplan.calibration;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The probe models, as model JSON: the layers real models are made of, at two or three sizes each, so every op
 * class is timed over a range of bytes and every product class at the shapes the zoo's models produce (scaled
 * down: one image where a model has a batch). Each probe is a small training model; its every step is a sample.
 */
final class ProbeModels {
    private ProbeModels() {
    }

    /** Name and model JSON of every probe, the cheapest first. */
    static Map<String, String> all() {
        Map<String, String> m = new LinkedHashMap<>();
        for (int[] s : new int[][]{{8, 16}, {8, 32}, {8, 256}, {64, 64}, {64, 256}}) m.put("mlp-" + s[0] + "x" + s[1],
                mlp(s[0], s[1]));
        m.put("gemm-256x1024", gemm(256, 1024));
        // {batch, in, out, kernel, stride, size}: tiny-cnn's and LeNet's convolutions, ResNet's stem and stages
        // (two images: the kernels split im2col by image); the 28x28 stage again at batch 8, where the CPU
        // backend runs it by Winograd's algorithm (at batch 2 by im2col), so that both classes have the shape
        int[][] convs = {{8, 1, 8, 3, 1, 16}, {8, 8, 16, 3, 1, 8}, {8, 1, 6, 5, 1, 32}, {8, 6, 16, 5, 1, 14},
                {2, 3, 64, 7, 2, 112}, {2, 64, 64, 3, 1, 56}, {2, 64, 128, 3, 2, 56}, {2, 64, 128, 1, 2, 56},
                {2, 128, 128, 3, 1, 28}, {8, 128, 128, 3, 1, 28}, {2, 256, 256, 3, 1, 14}, {2, 512, 512, 3, 1, 7}};
        for (int[] c : convs)
            m.put("conv-" + c[1] + "-" + c[2] + "k" + c[3] + "s" + c[4] + "@" + c[5] + "x" + c[0],
                    conv(c[0], c[1], c[2], c[3], c[4], c[5]));
        for (int[] t : new int[][]{{4, 16, 32}, {4, 32, 64}}) m.put("transformer-" + t[0] + "x" + t[1] + "x" + t[2],
                transformer(t[0], t[1], t[2]));
        for (int[] l : new int[][]{{8, 16}, {16, 64}}) m.put("lstm-" + l[0] + "x" + l[1], lstm(l[0], l[1]));
        return m;
    }

    /**
     * The names of the smallest probe of each kind (products and streaming ops, convolutions, transformer blocks,
     * LSTM cells), run many times before the probes so that the JIT compiles their kernels fully; see
     * {@link CpuProbes#JIT_ITERATIONS}.
     */
    static List<String> jitWarmUps() {
        return List.of("mlp-8x16", "conv-1-8k3s1@16x8", "transformer-4x16x32", "lstm-8x16");
    }

    /** Layers appended to a model's JSON. */
    private static final class Layers {
        final StringBuilder b;
        boolean first = true;

        Layers(String name) {
            b = new StringBuilder("{\"format\":\"memplan-model\",\"version\":1,\"name\":\"probe-").append(name)
                    .append("\",\"layers\":[");
        }

        /** Adds a layer; {@code args} is the JSON of its attributes after "op", without braces. */
        String add(String name, String op, String args, String... inputs) {
            if (!first) b.append(',');
            first = false;
            b.append("{\"name\":\"").append(name).append("\",\"op\":\"").append(op).append('"');
            if (!args.isEmpty()) b.append(',').append(args);
            if (inputs.length > 0) {
                b.append(",\"inputs\":[");
                for (int i = 0; i < inputs.length; i++) b.append(i > 0 ? "," : "").append('"').append(inputs[i])
                        .append('"');
                b.append(']');
            }
            b.append('}');
            return name;
        }

        String json() {
            return b.append("]}").toString();
        }
    }

    /** An MLP block as small models have them: product, norm, activations, dropout, gate, residual, softmax. */
    static String mlp(int rows, int width) {
        Layers l = new Layers("mlp-" + rows + "x" + width);
        String x = l.add("x", "Input", "\"shape\":[" + rows + "," + width + "]");
        String y = l.add("target", "Input", "\"shape\":[" + rows + "],\"dtype\":\"int64\"");
        String p0 = l.add("p0", "Linear", "\"out\":" + width, x);
        String ln = l.add("ln", "LayerNorm", "", p0);
        String up = l.add("up", "Linear", "\"out\":" + 4 * width, ln);
        String act = l.add("gelu", "GELU", "", up);
        String drop = l.add("drop", "Dropout", "\"p\":0.1", act);
        String down = l.add("down", "Linear", "\"out\":" + width, drop);
        String relu = l.add("relu", "ReLU", "", down);
        String sig = l.add("sig", "Sigmoid", "", p0);
        String gate = l.add("gate", "Mul", "", relu, sig);
        String res = l.add("res", "Add", "", gate, p0);
        String tanh = l.add("tanh", "Tanh", "", res);
        String sm = l.add("sm", "Softmax", "", tanh);
        String head = l.add("head", "Linear", "\"out\":10", sm);
        l.add("loss", "CrossEntropy", "", head, y);
        return l.json();
    }

    /** Mid-size products: three Linear layers of {@code width} on {@code rows} rows. */
    static String gemm(int rows, int width) {
        Layers l = new Layers("gemm-" + rows + "x" + width);
        String x = l.add("x", "Input", "\"shape\":[" + rows + "," + width + "]");
        String y = l.add("target", "Input", "\"shape\":[" + rows + "],\"dtype\":\"int64\"");
        for (int i = 0; i < 3; i++) x = l.add("p" + i, "Linear", "\"out\":" + width + ",\"bias\":false", x);
        l.add("loss", "CrossEntropy", "", x, y);
        return l.json();
    }

    /**
     * One convolution as a CNN's stage has it, with its batch norm, ReLU, residual add and pooling; a 1x1
     * convolution in front gives it an input gradient to compute, as every layer but a model's first has.
     */
    static String conv(int batch, int in, int out, int kernel, int stride, int size) {
        Layers l = new Layers("conv-" + in + "-" + out + "k" + kernel);
        String x = l.add("x", "Input", "\"shape\":[" + batch + "," + in + "," + size + "," + size + "]");
        String y = l.add("target", "Input", "\"shape\":[" + batch + "],\"dtype\":\"int64\"");
        String p0 = l.add("p0", "Conv2d", "\"out\":" + in + ",\"kernel\":1,\"bias\":false", x);
        String c = l.add("conv", "Conv2d", "\"out\":" + out + ",\"kernel\":" + kernel + ",\"stride\":" + stride
                + ",\"padding\":" + kernel / 2 + ",\"bias\":false", p0);
        String bn = l.add("bn", "BatchNorm2d", "", c);
        String relu = l.add("relu", "ReLU", "", bn);
        String add = l.add("add", "Add", "", relu, bn);
        String pool = l.add("pool", "MaxPool2d", "\"kernel\":2", add);
        String avg = l.add("avg", "AvgPool2d", "\"kernel\":2", pool);
        String gap = l.add("gap", "GlobalAvgPool", "", pool);
        String f1 = l.add("flat_avg", "Flatten", "", avg);
        String f2 = l.add("flat_gap", "Flatten", "", gap);
        String cat = l.add("cat", "Concat", "\"axis\":1", f1, f2);
        String fc = l.add("fc", "Linear", "\"out\":10", cat);
        l.add("loss", "CrossEntropy", "", fc, y);
        return l.json();
    }

    /**
     * A GPT block (embeddings, layer norm, fused attention, GELU MLP) and a Llama block (RMSNorm, rotary
     * embedding, grouped-query attention, gated MLP) with an unfused attention (reshape, transpose, batched
     * products, softmax), on {@code batch} sequences of {@code seq} tokens of width {@code width}.
     */
    static String transformer(int batch, int seq, int width) {
        int heads = 4, vocab = 64;
        Layers l = new Layers("transformer-" + batch + "x" + seq + "x" + width);
        String shape = "\"shape\":[" + batch + "," + seq + "],\"dtype\":\"int64\"";
        String tok = l.add("tokens", "Input", shape);
        String pos = l.add("positions", "Input", shape);
        String y = l.add("target", "Input", shape);
        String wte = l.add("wte", "Embedding", "\"num\":" + vocab + ",\"dim\":" + width, tok);
        String wpe = l.add("wpe", "Embedding", "\"num\":" + seq + ",\"dim\":" + width, pos);
        String h = l.add("embed", "Add", "", wte, wpe);
        String ln = l.add("ln1", "LayerNorm", "", h);
        String q = l.add("q", "Linear", "\"out\":" + width, ln);
        String k = l.add("k", "Linear", "\"out\":" + width, ln);
        String v = l.add("v", "Linear", "\"out\":" + width, ln);
        String att = l.add("att", "Attention", "\"heads\":" + heads + ",\"causal\":true", q, k, v);
        String proj = l.add("proj", "Linear", "\"out\":" + width, att);
        h = l.add("res1", "Add", "", proj, h);
        String ln2 = l.add("ln2", "LayerNorm", "", h);
        String fc = l.add("fc", "Linear", "\"out\":" + 4 * width, ln2);
        String gelu = l.add("gelu", "GELU", "", fc);
        String fc2 = l.add("fc2", "Linear", "\"out\":" + width, gelu);
        h = l.add("res2", "Add", "", fc2, h);
        // Llama block, grouped-query attention with half the heads' keys
        String rms = l.add("rms", "RMSNorm", "", h);
        int hd = width / heads;
        String lq = l.add("lq", "Linear", "\"out\":" + width + ",\"bias\":false", rms);
        String lk = l.add("lk", "Linear", "\"out\":" + width / 2 + ",\"bias\":false", rms);
        String lv = l.add("lv", "Linear", "\"out\":" + width / 2 + ",\"bias\":false", rms);
        String rq = l.add("rq", "RotaryEmbedding", "\"headDim\":" + hd, lq);
        String rk = l.add("rk", "RotaryEmbedding", "\"headDim\":" + hd, lk);
        String latt = l.add("latt", "Attention", "\"heads\":" + heads + ",\"kvHeads\":" + heads / 2
                + ",\"causal\":true,\"form\":\"eager\"", rq, rk, lv);
        String lo = l.add("lo", "Linear", "\"out\":" + width + ",\"bias\":false", latt);
        h = l.add("res3", "Add", "", lo, h);
        String rms2 = l.add("rms2", "RMSNorm", "", h);
        String g = l.add("gate", "Linear", "\"out\":" + 2 * width + ",\"bias\":false", rms2);
        String u = l.add("upp", "Linear", "\"out\":" + 2 * width + ",\"bias\":false", rms2);
        String ga = l.add("glu", "GatedActivation", "", g, u);
        String dn = l.add("dn", "Linear", "\"out\":" + width + ",\"bias\":false", ga);
        h = l.add("res4", "Add", "", dn, h);
        // unfused attention
        String ln3 = l.add("ln3", "LayerNorm", "", h);
        String[] qkv = new String[3];
        for (int i = 0; i < 3; i++) {
            String p = l.add("u" + i, "Linear", "\"out\":" + width, ln3);
            String sp = l.add("u" + i + ".split", "Reshape", "\"shape\":[0,0," + heads + "," + hd + "]", p);
            qkv[i] = l.add("u" + i + ".heads", "Transpose", "\"perm\":[0,2,1,3]", sp);
        }
        String sc = l.add("scores", "MatMul", "\"transposeB\":true", qkv[0], qkv[1]);
        String sm = l.add("softmax", "Softmax", "", sc);
        String ctx = l.add("context", "MatMul", "", sm, qkv[2]);
        String mh = l.add("merge_heads", "Transpose", "\"perm\":[0,2,1,3]", ctx);
        String mg = l.add("merge", "Reshape", "\"shape\":[0,0," + width + "]", mh);
        h = l.add("res5", "Add", "", mg, h);
        String lnf = l.add("ln_f", "LayerNorm", "", h);
        String head = l.add("lm_head", "Linear", "\"out\":" + vocab + ",\"bias\":false", lnf);
        l.add("loss", "CrossEntropy", "\"classAxis\":-1", head, y);
        return l.json();
    }

    /** An LSTM language model over {@code steps} = 4 tokens: embedding, slices, cells, concat, projection. */
    static String lstm(int batch, int hidden) {
        int steps = 4, vocab = 50;
        Layers l = new Layers("lstm-" + batch + "x" + hidden);
        String tok = l.add("tokens", "Input", "\"shape\":[" + batch + "," + steps + "],\"dtype\":\"int64\"");
        String h = l.add("h0", "Input", "\"shape\":[" + batch + "," + hidden + "]");
        String c = l.add("c0", "Input", "\"shape\":[" + batch + "," + hidden + "]");
        String y = l.add("target", "Input", "\"shape\":[" + batch + "," + steps + "],\"dtype\":\"int64\"");
        String emb = l.add("embed", "Embedding", "\"num\":" + vocab + ",\"dim\":" + hidden, tok);
        String[] outs = new String[steps];
        String tie = "";
        for (int t = 0; t < steps; t++) {
            String x = l.add("x." + t, "Slice", "\"axis\":1,\"start\":" + t + ",\"end\":" + (t + 1), emb);
            String flat = l.add("x." + t + ".flat", "Reshape", "\"shape\":[0,-1]", x);
            String cell = l.add("lstm." + t, "LSTMCell", "\"hidden\":" + hidden + tie, flat, h, c);
            tie = ",\"tie\":{\"weight_ih\":\"lstm.0.weight_ih\",\"weight_hh\":\"lstm.0.weight_hh\","
                    + "\"bias_ih\":\"lstm.0.bias_ih\",\"bias_hh\":\"lstm.0.bias_hh\"}";
            h = cell + ":0";
            c = cell + ":1";
            outs[t] = l.add("h." + t, "Reshape", "\"shape\":[0,1," + hidden + "]", h);
        }
        String cat = l.add("concat", "Concat", "\"axis\":1", outs);
        String proj = l.add("proj", "Linear", "\"out\":" + hidden, cat);
        String tanh = l.add("tanh", "Tanh", "", proj);
        String dec = l.add("decoder", "Linear", "\"out\":" + vocab, tanh);
        l.add("loss", "CrossEntropy", "\"classAxis\":-1", dec, y);
        return l.json();
    }
}

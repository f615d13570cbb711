package memplan.onnx;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.*;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Networks built with ModelDef.builder, exported to ONNX as PyTorch would write them and imported back, must have
 * the same parameter count and the same baseline peak as the original, at several opsets.
 */
class OnnxRoundTripTest {
    @TempDir
    Path dir;

    static ModelDef lenet5() {
        var b = ModelDef.builder("lenet5");
        String x = b.add("image", new Input(List.of("N", "1", "32", "32"), null));
        x = b.add("c1", Conv2d.of(6, 5, 1, 0, true), x);
        x = b.add("r1", new ReLU(), x);
        x = b.add("p1", new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), x);
        x = b.add("c2", Conv2d.of(16, 5, 1, 0, true), x);
        x = b.add("r2", new ReLU(), x);
        x = b.add("p2", new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), x);
        x = b.add("flat", new Flatten(1), x);
        x = b.add("f1", new Linear(120, true), x);
        x = b.add("r3", new ReLU(), x);
        x = b.add("f2", new Linear(84, true), x);
        x = b.add("r4", new Tanh(), x);
        x = b.add("drop", new Dropout(0.5), x);
        x = b.add("f3", new Linear(10, true), x);
        String t = b.add("label", new Input(List.of("N"), DType.INT64));
        b.add("loss", new CrossEntropy(1), x, t);
        return b.build();
    }

    static ModelDef resnetBlock() {
        var b = ModelDef.builder("resblock");
        String x = b.add("image", new Input(List.of("N", "3", "32", "32"), null));
        x = b.add("stem", Conv2d.of(16, 3, 1, 1, false), x);
        x = b.add("stem_bn", new BatchNorm2d(1e-5, 0.1), x);
        String in = b.add("stem_relu", new ReLU(), x);
        x = b.add("c1", Conv2d.of(16, 3, 1, 1, false), in);
        x = b.add("bn1", new BatchNorm2d(1e-5, 0.1), x);
        x = b.add("relu1", new ReLU(), x);
        x = b.add("c2", Conv2d.of(16, 3, 1, 1, false), x);
        x = b.add("bn2", new BatchNorm2d(1e-5, 0.1), x);
        x = b.add("sum", new Add(), x, in);
        x = b.add("relu2", new ReLU(), x);
        x = b.add("down", new AvgPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), x);
        x = b.add("up", new Upsample(2), x);
        x = b.add("cat", new Concat(1), x, in);
        x = b.add("pool", new GlobalAvgPool(), x);
        x = b.add("flat", new Flatten(1), x);
        x = b.add("fc", new Linear(10, true), x);
        String t = b.add("label", new Input(List.of("N"), DType.INT64));
        b.add("loss", new CrossEntropy(1), x, t);
        return b.build();
    }

    /** A GPT-style block with unfused two-head attention (q k^T, softmax, times v). */
    static ModelDef transformerBlock() {
        int d = 32, heads = 2, vocab = 64;
        var b = ModelDef.builder("transformer");
        b.dim("T", 16);
        String ids = b.add("ids", new Input(List.of("N", "T"), DType.INT64));
        String h = b.add("wte", new Embedding(vocab, d), ids);
        String ln1 = b.add("ln1", new LayerNorm(1e-5), h);
        String[] qkv = new String[3];
        for (int i = 0; i < 3; i++) {
            String p = b.add("proj" + i, new Linear(d, true), ln1);
            String r = b.add("split" + i, new Reshape(List.of(0, 0, heads, d / heads)), p);
            qkv[i] = b.add("heads" + i, new Transpose(List.of(0, 2, 1, 3)), r);
        }
        String s = b.add("scores", new MatMul(true), qkv[0], qkv[1]);
        String pr = b.add("probs", new Softmax(), s);
        String pd = b.add("attn_drop", new Dropout(0.1), pr);
        String o = b.add("ctx", new MatMul(false), pd, qkv[2]);
        o = b.add("merge", new Transpose(List.of(0, 2, 1, 3)), o);
        o = b.add("merge_view", new Reshape(List.of(0, 0, d)), o);
        o = b.add("out_proj", new Linear(d, true), o);
        String r1 = b.add("res1", new Add(), h, o);
        String ln2 = b.add("ln2", new LayerNorm(1e-5), r1);
        String f = b.add("fc1", new Linear(4 * d, true), ln2);
        f = b.add("gelu", new GELU(), f);
        f = b.add("fc2", new Linear(d, true), f);
        String r2 = b.add("res2", new Add(), r1, f);
        String lnf = b.add("lnf", new LayerNorm(1e-5), r2);
        String logits = b.add("head", new Linear(vocab, false), lnf);
        String t = b.add("targets", new Input(List.of("N", "T"), DType.INT64));
        b.add("loss", new CrossEntropy(-1), logits, t);
        return b.build();
    }

    static long peak(ModelDef m, int batch) {
        return MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(m, batch, DType.FP32), Optimizer.SGD)).peakBytes();
    }

    private void sameAsOriginal(ModelDef original, int opset, OnnxOptions opts, boolean external) throws Exception {
        Path f = dir.resolve(original.name() + "_" + opset + (external ? "_ext" : "") + ".onnx");
        OnnxExporter.write(original, opset, f, external);
        ModelDef imported = OnnxImporter.read(f, opts);
        assertEquals(f.toString(), imported.source());
        for (int batch : new int[]{1, 8}) {
            Graph go = Graph.instantiate(original, batch, DType.FP32), gi = Graph.instantiate(imported, batch, DType.FP32);
            assertEquals(go.parameterCount(), gi.parameterCount(), original.name() + " parameters at opset " + opset);
            assertEquals(peak(original, batch), peak(imported, batch), original.name() + " peak at batch " + batch + ", opset " + opset
                    + "\n" + memplan.io.ModelJson.write(imported));
        }
    }

    @Test
    void lenet5SameAsOriginal() throws Exception {
        for (int opset : new int[]{11, 13, 17, 21}) sameAsOriginal(lenet5(), opset, OnnxOptions.defaults(), false);
    }

    @Test
    void resnetBlockSameAsOriginal() throws Exception {
        for (int opset : new int[]{11, 13, 18}) sameAsOriginal(resnetBlock(), opset, OnnxOptions.defaults(), false);
    }

    @Test
    void transformerBlockSameAsOriginal() throws Exception {
        var opts = OnnxOptions.defaults().withLoss(OnnxOptions.Loss.CE).withInputShape("ids", 1, 16);
        // 13: LayerNorm and GELU decomposed; 17: LayerNormalization; 20: Gelu
        for (int opset : new int[]{13, 17, 20}) sameAsOriginal(transformerBlock(), opset, opts, false);
    }

    @Test
    void externalData() throws Exception {
        sameAsOriginal(resnetBlock(), 13, OnnxOptions.defaults(), true);
    }
}

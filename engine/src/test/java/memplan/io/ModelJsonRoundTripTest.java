package memplan.io;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Mish;
import memplan.ops.Mul;
import memplan.ops.*;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** write then parse gives an equal model for every op with non-default attributes, ties, dims and multi-output refs. */
class ModelJsonRoundTripTest {
    static ModelDef everyOp() {
        ModelDef.Builder b = ModelDef.builder("every-op").description("all ops, non-default attributes").dim("T", 5);
        String x = b.add("x", new Input(List.of("N", "4", "8", "8"), DType.FP16));
        String c = b.add("conv", new Conv2d(8, new Pair(3, 1), new Pair(1, 2), new Pair(1, 0), new Pair(2, 1), 2, false), x); // [N,8,6,4]
        c = b.add("bn", new BatchNorm2d(1e-3, 0.01), c);
        c = b.add("relu", new ReLU(), c);
        c = b.add("mp", new MaxPool2d(Pair.of(2), Pair.of(1), Pair.of(1)), c);   // [N,8,7,5]
        c = b.add("ap", new AvgPool2d(new Pair(2, 1), new Pair(2, 1), Pair.of(0)), c); // [N,8,3,5]
        c = b.add("up", new Upsample(3), c);                                    // [N,8,9,15]
        c = b.add("gap", new GlobalAvgPool(), c);                               // [N,8,1,1]
        String v = b.add("vol", new Reshape(List.of(0, 2, 2, 2, 1)), c);         // [N,2,2,2,1]
        v = b.add("c3", new Conv3d(4, new Triple(2, 1, 1), new Triple(1, 2, 1), new Triple(1, 0, 0), Triple.of(1), 2,
                false), v);                                                      // [N,4,3,1,1]
        v = b.add("mp3", new MaxPool3d(new Triple(2, 1, 1), Triple.of(1), Triple.of(0)), v); // [N,4,2,1,1]
        v = b.add("ap3", new AvgPool3d(new Triple(2, 1, 1), new Triple(2, 1, 1), Triple.of(0)), v); // [N,4,1,1,1]
        v = b.add("gn", new GroupNorm(2, 1e-3, false), v);
        b.add("v3", new Reshape(List.of(0, -1)), v);                              // [N,4]
        String t3 = b.add("ct3", new ConvTranspose3d(4, new Triple(2, 3, 1), new Triple(2, 1, 1), new Triple(0, 1, 0),
                new Triple(1, 0, 0), new Triple(1, 1, 2), 2, false), v);         // [N,4,3,1,1]
        t3 = b.add("resize", new Resize(List.of(4, 2, 3), List.of(1.5, 2.0, 3.0), "cubic", "align_corners",
                "ceil", -0.5, true), t3);                                        // [N,4,4,2,3]
        t3 = b.add("resize2", Resize.of("nearest", "asymmetric", 5, 1, 2), t3);  // [N,4,5,1,2]
        b.add("flip", new Flip(List.of(-1, 1)), t3);
        c = b.add("fl", new Flatten(2), c);                                     // [N,8,1]
        c = b.add("rs", new Reshape(List.of(0, -1)), c);                        // [N,8]
        String l = b.add("lin", new Linear(6, false), c);                       // [N,6]
        b.add(new Layer("lin2", new Linear(6, false), List.of(c), Map.of("weight", "lin.weight")));
        String g = b.add("gelu", new GELU(), l);
        String s = b.add("sig", new Sigmoid(), g);
        String t = b.add("tanh", new Tanh(), "lin2");
        String d = b.add("drop", new Dropout(0.25), s);
        String n = b.add("ln", new LayerNorm(1e-6), d);
        String sm = b.add("sm", new Softmax(), n);
        String a = b.add("add", new Add(), sm, t);
        String m = b.add("mul", new Mul(), a, t);
        String cat = b.add("cat", new Concat(-1), m, a);                        // [N,12]
        String tr = b.add("tr", new Transpose(List.of(1, 0)), cat);             // [12,N]
        tr = b.add("tr2", new Transpose(List.of(1, 0)), tr);                    // [N,12]
        String sl = b.add("sl", new Slice(1, 2, 8), tr);                        // [N,6]
        String tok = b.add("tok", new Input(List.of("N", "T"), DType.INT32));
        String e = b.add("emb", new Embedding(20, 8), tok);                     // [N,T,8]
        String att = b.add("att", new Attention(2, true), e, e, e);
        // Llama-style: RMSNorm, rotary q and k, eager grouped-query attention, the SwiGLU and GeGLU activations
        String rn = b.add("rms", new RMSNorm(1e-5), e);
        String rq = b.add("rope_q", new RotaryEmbedding(4, 500000), rn);
        String kv = b.add("kv", new Linear(4, false), rn);
        String rk = b.add("rope_k", new RotaryEmbedding(4, 10000), kv);
        String ga = b.add("gqa", new Attention(2, 1, true, Attention.Form.EAGER), rq, rk, kv);
        ga = b.add("gqa_fused", new Attention(2, 1, false, Attention.Form.FUSED), ga, rk, kv);
        ga = b.add("swiglu", new GatedActivation(GatedActivation.Gate.SILU), ga, att);
        att = b.add("geglu", new GatedActivation(GatedActivation.Gate.GELU), ga, att);
        String mm = b.add("mm", new MatMul(true), att, e);                      // [N,T,T]
        String tgt = b.add("tgt", new Input(List.of("N", "T"), DType.INT64));
        b.add("ce", new CrossEntropy(-1), mm, tgt);
        String h0 = b.add("h0", new Input(List.of("N", "6"), null));
        String c0 = b.add("c0", new Input(List.of("N", "6"), null));
        b.add("cell", new LSTMCell(6), sl, h0, c0);
        b.add("mse", new MseLoss(), "cell:1", c0);
        // ops added for the ONNX importer (docs/onnx.md)
        String ct = b.add("convt", new ConvTranspose2d(4, new Pair(2, 1), new Pair(2, 1), Pair.of(0), new Pair(1, 0), Pair.of(1), 2, false), x); // [N,4,17,8]
        ct = b.add("lrelu", new LeakyReLU(0.2), ct);
        ct = b.add("hsig", new HardSigmoid(0.1, 0.4), ct);
        ct = b.add("hswish", new HardSwish(), ct);
        ct = b.add("mish", new Mish(), ct);
        ct = b.add("silu", new SiLU(), ct);
        ct = b.add("sqrt", new Sqrt(), ct);
        ct = b.add("clip", new Clip(0, 6), ct);
        b.add("cast", new Cast(DType.INT32), ct);
        String p = b.add("rmean", new ReduceMean(List.of(2, 3), true), ct);     // [N,4,1,1]
        String ew = b.add("badd", new Add(), ct, p);
        ew = b.add("bmul", new Mul(), ew, p);
        ew = b.add("sub", new Sub(), ew, p);
        ew = b.add("div", new Div(), ew, p);
        ew = b.add("pow", new Pow(), ew, p);
        ew = b.add("const", new ConstElementwise("sub", List.of(8), 0, true, false), ew);
        ew = b.add("scale", ConstElementwise.scalar("mul", 0.125, false), ew);
        String r = b.add("rmean2", new ReduceMean(List.of(-1), false), ew);     // [N,4,17]
        b.add("split", new Split(2, List.of(7, 10)), r);                       // [N,4,7], [N,4,10]
        String pd = b.add("pad", new Pad(List.of(0, 0, 1, 0, 0, 2), "edge"), "split:0"); // [N,4,10]
        b.add("padwrap", new Pad(List.of(0, 0, 3, 0, 0, 2), "wrap"), "split:0"); // [N,4,12]
        String mf = b.add("mfill", new MaskedFill(List.of(1, 1, 10), -5, false), pd);
        String cmp = b.add("cmp", new Compare(Compare.Relation.LESS, null), pd, "split:1");
        cmp = b.add("cmpnot", new Compare(Compare.Relation.NOT, null), cmp);
        cmp = b.add("cmpv", new Compare(Compare.Relation.GREATER, 0.5), cmp);
        b.add("cmpbuf", new Compare(Compare.Relation.EQUAL, null, List.of(1, 10)), pd);
        String cs = b.add("cumsum", new CumSum(-1, true, true), pd);
        b.add("topk", new TopK(2, 3, false, false), cs);
        b.add("scatter", new ScatterND(true), cs, b.add("sidx", new Fill(List.of("2", "1"), 0, DType.INT64)),
                b.add("supd", new Fill(List.of("2", "4", "10"), 1, null)));
        b.add("fmod", new ConstElementwise("fmod", List.of(10), 0, false, false), cs);
        b.add("remainder", ConstElementwise.scalar("mod", 2, true), cs);
        mf = b.add("mfill2", new MaskedFill(List.of(), 1, true), mf, cmp);
        b.add("opaque", new Opaque("onnx:Selu", 2, 2), mf, pd);
        String h = b.add("h0fill", new Fill(List.of("2", "N", "6"), 0.25, null));
        b.add("h0plus", new Add(), h, b.add("h0bool", new Fill(List.of("1", "N", "6"), 1, DType.BOOL)));
        return b.build();
    }

    @Test
    void everyOpRoundTrips() {
        ModelDef m = everyOp();
        Set<String> types = new HashSet<>();
        for (Layer l : m.layers()) types.add(l.op().type());
        assertEquals(OpType.names(), types, "the model uses every op");
        String text = ModelJson.write(m);
        ModelDef parsed = ModelJson.parse(text, "every-op.json");
        assertEquals(m.withSource("s"), parsed.withSource("s"));
        assertEquals(text, ModelJson.write(parsed));
        Graph.instantiate(parsed, 3, DType.FP32, Map.of("T", 7));
    }

    @Test
    void defaultsAreNotWritten() {
        String text = ModelJson.write(ModelDef.builder("d").build().withLayers(List.of(
                Layer.of("x", new Input(List.of("N", "3", "8", "8"), null)),
                Layer.of("conv", Conv2d.of(4, 3, 1, 0, true), "x"),
                Layer.of("pool", new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), "conv"))));
        assertTrue(text.contains("{\"name\":\"conv\",\"op\":\"Conv2d\",\"inputs\":[\"x\"],\"out\":4,\"kernel\":3}"), text);
        assertTrue(text.contains("{\"name\":\"pool\",\"op\":\"MaxPool2d\",\"inputs\":[\"conv\"],\"kernel\":2}"), text);
        assertTrue(text.contains("{\"name\":\"x\",\"op\":\"Input\",\"shape\":[\"N\",3,8,8]}"), text);
    }
}

package memplan.onnx;

import memplan.model.ModelDef;
import memplan.ir.Shape;
import memplan.ops.CrossEntropy;
import memplan.ops.MseLoss;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static org.junit.jupiter.api.Assertions.*;

/** One small ONNX graph per mapped operator: output shape at two batch sizes, parameter count, MemPlan op chosen. */
class OnnxOperatorTest {
    @TempDir
    Path dir;

    private static OnnxGraphBuilder image(int opset, int c, int h, int w) {
        return new OnnxGraphBuilder(opset).input("x", FLOAT, "batch", c, h, w);
    }

    private static void shape(ModelDef m, int... dimsAfterBatch) {
        for (int batch : new int[]{2, 5}) {
            int[] d = new int[dimsAfterBatch.length + 1];
            d[0] = batch;
            System.arraycopy(dimsAfterBatch, 0, d, 1, dimsAfterBatch.length);
            assertEquals(Shape.of(d), outShape(m, batch), "output shape at batch " + batch);
        }
    }

    private static long params(ModelDef m) {
        return at(m, 2).parameterCount();
    }

    @Test
    void conv() throws Exception {
        var b = image(13, 3, 8, 8);
        String y = b.node("Conv", List.of("x", b.weight("w", 4, 3, 3, 3), b.weight("b", 4)), is("kernel_shape", 3, 3), is("pads", 1, 1, 1, 1));
        ModelDef m = b.output(y).load(dir);
        shape(m, 4, 8, 8);
        assertEquals(4 * 27 + 4, params(m));
        assertEquals(1, count(m, "Conv2d"));
    }

    @Test
    void convSameUpperAndAsymmetricPads() throws Exception {
        var b = image(13, 3, 7, 7);
        String y = b.node("Conv", List.of("x", b.weight("w", 4, 3, 3, 3)), s("auto_pad", "SAME_UPPER"), is("strides", 2, 2));
        shape(b.output(y).load(dir), 4, 4, 4);
        var b2 = image(13, 3, 8, 8);
        String y2 = b2.node("Conv", List.of("x", b2.weight("w", 4, 3, 3, 3)), is("pads", 0, 0, 1, 1));
        ModelDef m2 = b2.output(y2).load(dir);
        shape(m2, 4, 7, 7);
        assertEquals(1, count(m2, "Pad"));
    }

    @Test
    void convTranspose() throws Exception {
        var b = image(13, 4, 4, 4);
        String y = b.node("ConvTranspose", List.of("x", b.weight("w", 4, 2, 2, 2), b.weight("b", 2)), is("strides", 2, 2));
        ModelDef m = b.output(y).load(dir);
        shape(m, 2, 8, 8);
        assertEquals(4 * 2 * 4 + 2, params(m));
    }

    @Test
    void gemmBothWeightLayouts() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 16);
        String y = b.node("Gemm", List.of("x", b.weight("w", 10, 16), b.weight("b", 10)), i("transB", 1));
        ModelDef m = b.output(y).load(dir);
        shape(m, 10);
        assertEquals(170, params(m));
        assertEquals(1, count(m, "Linear"));
        var b2 = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 16);
        String y2 = b2.node("Gemm", List.of("x", b2.weight("w", 16, 10), b2.weight("b", 10)));
        ModelDef m2 = b2.output(y2).load(dir);
        shape(m2, 10);
        assertEquals(170, params(m2));
    }

    @Test
    void matMulWithWeightAndBiasBecomesLinear() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 5, 16);
        String mm = b.node("MatMul", List.of("x", b.weight("w", 16, 8)));
        String y = b.node("Add", List.of(mm, b.weight("bias", 8)));
        ModelDef m = b.output(y).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        shape(m, 5, 8);
        assertEquals(16 * 8 + 8, params(m));
        assertEquals(1, count(m, "Linear"));
        assertEquals(0, count(m, "ConstElementwise"));
    }

    @Test
    void matMulOfTwoTensorsWithTransposeIsTransposeB() throws Exception {
        var b = new OnnxGraphBuilder(13).input("q", FLOAT, "N", 4, 8).input("k", FLOAT, "N", 4, 8);
        String kt = b.node("Transpose", List.of("k"), is("perm", 0, 2, 1));
        String y = b.node("MatMul", List.of("q", kt));
        ModelDef m = b.output(y).load(dir);
        shape(m, 4, 4);
        assertEquals(0, count(m, "Transpose"));
        assertEquals(1, count(m, "MatMul"));
    }

    @Test
    void activations() throws Exception {
        String[][] cases = {{"Relu", "ReLU"}, {"LeakyRelu", "LeakyReLU"}, {"Sigmoid", "Sigmoid"}, {"Tanh", "Tanh"},
                {"HardSigmoid", "HardSigmoid"}, {"HardSwish", "HardSwish"}, {"Sqrt", "Sqrt"}, {"Softmax", "Softmax"}};
        for (String[] c : cases) {
            var b = new OnnxGraphBuilder(14).input("x", FLOAT, "N", 6, 7);
            ModelDef m = b.output(b.node(c[0], List.of("x"))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
            shape(m, 6, 7);
            assertEquals(1, count(m, c[1]), c[0]);
        }
        var b = new OnnxGraphBuilder(20).input("x", FLOAT, "N", 6, 7);
        ModelDef m = b.output(b.node("Gelu", List.of("x"))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(1, count(m, "GELU"));
        var mb = new OnnxGraphBuilder(18).input("x", FLOAT, "N", 6, 7);
        ModelDef mm = mb.output(mb.node("Mish", List.of("x"))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(1, count(mm, "Mish"));
    }

    @Test
    void sigmoidMulIsSiLU() throws Exception {
        // how PyTorch exports nn.SiLU; a gate (Sigmoid of one tensor times another) stays two ops
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 5, 16);
        String s = b.node("Mul", List.of(b.node("Sigmoid", List.of("x")), "x"));
        String g = b.node("Mul", List.of(s, b.node("Sigmoid", List.of(s))));
        String gate = b.node("Mul", List.of(b.node("Sigmoid", List.of("x")), g));
        ModelDef m = b.output(gate).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(2, count(m, "SiLU"));
        assertEquals(1, count(m, "Sigmoid"));
        assertEquals(1, count(m, "Mul"));
    }

    @Test
    void softplusTanhMulIsMish() throws Exception {
        // how PyTorch exports nn.Mish before opset 18
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 5, 16);
        String t = b.node("Tanh", List.of(b.node("Softplus", List.of("x"))));
        ModelDef m = b.output(b.node("Mul", List.of("x", t))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(1, count(m, "Mish"));
        assertEquals(0, count(m, "Tanh") + count(m, "Mul"));
    }

    @Test
    void erfPatternIsGelu() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 5, 16);
        String d = b.node("Div", List.of("x", b.scalar((float) Math.sqrt(2))));
        String e = b.node("Erf", List.of(d));
        String a = b.node("Add", List.of(e, b.constNode(1)));
        String m1 = b.node("Mul", List.of("x", a));
        String y = b.node("Mul", List.of(m1, b.scalar(0.5f)));
        ModelDef m = b.output(y).load(dir);
        shape(m, 5, 16);
        assertEquals(1, count(m, "GELU"));
        assertEquals(4, m.layers().size()); // input, GELU, target, loss
    }

    @Test
    void batchNormalization() throws Exception {
        var b = image(13, 4, 8, 8);
        String y = b.node("BatchNormalization", List.of("x", b.weight("s", 4), b.weight("b", 4), b.weight("m", 4), b.weight("v", 4)));
        ModelDef m = b.output(y).load(dir);
        shape(m, 4, 8, 8);
        assertEquals(8, params(m)); // running stats are buffers
        assertEquals(1, count(m, "BatchNorm2d"));
    }

    @Test
    void layerNormalizationAndItsDecomposedForm() throws Exception {
        var b = new OnnxGraphBuilder(17).input("x", FLOAT, "N", 5, 16);
        String y = b.node("LayerNormalization", List.of("x", b.weight("g", 16), b.weight("b", 16)), i("axis", -1));
        ModelDef m = b.output(y).load(dir);
        shape(m, 5, 16);
        assertEquals(32, params(m));

        for (int opset : new int[]{13, 18}) {
            var d = new OnnxGraphBuilder(opset).input("x", FLOAT, "N", 5, 16);
            var ax = opset >= 18 ? new memplan.onnx.proto.Onnx.AttributeProto[0] : new memplan.onnx.proto.Onnx.AttributeProto[]{is("axes", -1)};
            String mean = d.node("ReduceMean", opset >= 18 ? List.of("x", d.ints(-1)) : List.of("x"), ax);
            String sub = d.node("Sub", List.of("x", mean));
            String sq = d.node("Pow", List.of(sub, d.scalar(2)));
            String var = d.node("ReduceMean", opset >= 18 ? List.of(sq, d.ints(-1)) : List.of(sq), ax);
            String eps = d.node("Add", List.of(var, d.scalar(1e-5f)));
            String std = d.node("Sqrt", List.of(eps));
            String norm = d.node("Div", List.of(sub, std));
            String sc = d.node("Mul", List.of(norm, d.weight("g", 16)));
            String out = d.node("Add", List.of(sc, d.weight("b", 16)));
            ModelDef md = d.output(out).load(dir);
            shape(md, 5, 16);
            assertEquals(32, params(md), "opset " + opset);
            assertEquals(1, count(md, "LayerNorm"), "opset " + opset);
            assertEquals(4, md.layers().size(), "input, LayerNorm, target, loss at opset " + opset);
        }
    }

    @Test
    void pooling() throws Exception {
        var b = image(13, 4, 8, 8);
        String y = b.node("MaxPool", List.of("x"), is("kernel_shape", 3, 3), is("strides", 2, 2), is("pads", 1, 1, 1, 1));
        shape(b.output(y).load(dir), 4, 4, 4);
        var c = image(13, 4, 7, 7);
        String yc = c.node("MaxPool", List.of("x"), is("kernel_shape", 2, 2), is("strides", 2, 2), i("ceil_mode", 1));
        shape(c.output(yc).load(dir), 4, 4, 4);
        var a = image(13, 4, 8, 8);
        String ya = a.node("AveragePool", List.of("x"), is("kernel_shape", 2, 2), is("strides", 2, 2));
        shape(a.output(ya).load(dir), 4, 4, 4);
        var gp = image(13, 4, 8, 8);
        String yg = gp.node("GlobalAveragePool", List.of("x"));
        ModelDef mg = gp.output(yg).load(dir);
        shape(mg, 4, 1, 1);
        assertEquals(1, count(mg, "GlobalAvgPool"));
    }

    @Test
    void binaryOps() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 5, 16).input("z", FLOAT, "N", 5, 1);
        String same = b.node("Add", List.of("x", "x"));
        String bc = b.node("Sub", List.of(same, "z"));
        String dv = b.node("Div", List.of(bc, "z"));
        String mu = b.node("Mul", List.of(dv, "z"));
        String pw = b.node("Pow", List.of(mu, "x"));
        String bias = b.node("Add", List.of(pw, b.weight("bias", 16)));
        String scale = b.node("Mul", List.of(bias, b.scalar(0.5f)));
        String sq = b.node("Pow", List.of(scale, b.scalar(2)));
        String rsub = b.node("Sub", List.of(b.scalar(1), sq));
        ModelDef m = b.output(rsub).load(dir);
        shape(m, 5, 16);
        assertEquals(16, params(m)); // the bias; scalars are hyperparameters
        for (String t : List.of("Add", "Sub", "Div", "Mul", "Pow")) assertEquals(1, count(m, t), t);
        assertEquals(4, count(m, "ConstElementwise"));
    }

    @Test
    void reduceMeanAxesAsAttributeAndAsInput() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 5, 16);
        shape(b.output(b.node("ReduceMean", List.of("x"), is("axes", 1), i("keepdims", 0))).load(dir), 16);
        var c = new OnnxGraphBuilder(18).input("x", FLOAT, "N", 5, 16);
        shape(c.output(c.node("ReduceMean", List.of("x", c.ints(-1)))).load(dir), 5, 1);
    }

    @Test
    void concatAndSplitAcrossOpsets() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4, 6);
        String y = b.node("Concat", List.of("x", "x"), i("axis", 1));
        shape(b.output(y).load(dir), 8, 6);
        for (int opset : new int[]{11, 13, 18}) {
            var s = new OnnxGraphBuilder(opset).input("x", FLOAT, "N", 6, 4);
            List<String> ins = opset == 11 || opset == 18 ? List.of("x") : List.of("x", s.ints(2, 4));
            var attrs = opset == 11 ? new memplan.onnx.proto.Onnx.AttributeProto[]{i("axis", 1), is("split", 2, 4)}
                    : opset == 18 ? new memplan.onnx.proto.Onnx.AttributeProto[]{i("axis", 1), i("num_outputs", 2)}
                    : new memplan.onnx.proto.Onnx.AttributeProto[]{i("axis", 1)};
            s.nodeOut("Split", ins, List.of("a", "b"), attrs);
            ModelDef m = s.output("b").load(dir);
            shape(m, opset == 18 ? 3 : 4, 4);
            assertEquals(1, count(m, "Split"));
        }
    }

    @Test
    void slice() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 10, 16);
        String y = b.node("Slice", List.of("x", b.ints(2, 0), b.ints(7, Long.MAX_VALUE), b.ints(1, 2)));
        ModelDef m = b.output(y).load(dir);
        shape(m, 5, 16);
        assertEquals(1, count(m, "Slice"));
    }

    @Test
    void flattenReshapeTranspose() throws Exception {
        var b = image(13, 4, 3, 2);
        shape(b.output(b.node("Flatten", List.of("x"), i("axis", 1))).load(dir), 24);
        var c = image(13, 4, 3, 2);
        ModelDef mc = c.output(c.node("Flatten", List.of("x"), i("axis", 2))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(Shape.of(8, 6), outShape(mc, 2));
        assertEquals(Shape.of(20, 6), outShape(mc, 5));
        var r = image(13, 4, 3, 2);
        shape(r.output(r.node("Reshape", List.of("x", r.ints(0, -1, 2)))).load(dir), 12, 2);
        var t = image(13, 4, 3, 2);
        ModelDef mt = t.output(t.node("Transpose", List.of("x"), is("perm", 0, 2, 3, 1))).load(dir);
        shape(mt, 3, 2, 4);
        assertEquals(1, count(mt, "Transpose"));
    }

    /** x.view(x.size(0), -1) as exported: Shape -> Gather -> Unsqueeze -> Concat -> Reshape, folded batch-independently. */
    @Test
    void shapeComputationIsFolded() throws Exception {
        for (int opset : new int[]{11, 13}) {
            var b = image(opset, 4, 3, 2);
            String sh = b.node("Shape", List.of("x"));
            String n = b.node("Gather", List.of(sh, b.intScalar(0)), i("axis", 0));
            String un = opset < 13 ? b.node("Unsqueeze", List.of(n), is("axes", 0)) : b.node("Unsqueeze", List.of(n, b.ints(0)));
            String cat = b.node("Concat", List.of(un, b.ints(-1)), i("axis", 0));
            String y = b.node("Reshape", List.of("x", cat));
            ModelDef m = b.output(y).load(dir);
            shape(m, 24);
            assertEquals(1, count(m, "Reshape"));
            assertEquals(0, count(m, "Opaque"));
        }
    }

    @Test
    void squeezeAndUnsqueezeAxesAttributeVersusInput() throws Exception {
        for (int opset : new int[]{11, 13}) {
            var b = new OnnxGraphBuilder(opset).input("x", FLOAT, "N", 1, 6);
            String sq = opset < 13 ? b.node("Squeeze", List.of("x"), is("axes", 1)) : b.node("Squeeze", List.of("x", b.ints(1)));
            String un = opset < 13 ? b.node("Unsqueeze", List.of(sq), is("axes", 2)) : b.node("Unsqueeze", List.of(sq, b.ints(2)));
            ModelDef m = b.output(un).load(dir);
            shape(m, 6, 1);
        }
    }

    @Test
    void gatherAsEmbeddingAndAsIndexing() throws Exception {
        var b = new OnnxGraphBuilder(13).input("ids", INT64, "N", 7);
        String emb = b.node("Gather", List.of(b.weight("table", 100, 16), "ids"));
        ModelDef m = b.output(emb).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.CE));
        shape(m, 7, 16);
        assertEquals(1600, params(m));
        assertEquals(1, count(m, "Embedding"));
        var c = new OnnxGraphBuilder(13).input("h", FLOAT, "N", 7, 16);
        String first = c.node("Gather", List.of("h", c.intScalar(0)), i("axis", 1));
        shape(c.output(first).load(dir), 16);
    }

    @Test
    void dropoutRatioAsAttributeAndAsInput() throws Exception {
        var b = new OnnxGraphBuilder(11).input("x", FLOAT, "N", 8);
        ModelDef m = b.output(b.node("Dropout", List.of("x"), f("ratio", 0.25))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(new memplan.ops.Dropout(0.25), m.layers().get(1).op());
        var c = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 8);
        ModelDef mc = c.output(c.node("Dropout", List.of("x", c.scalar(0.1f)))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(0.1, ((memplan.ops.Dropout) mc.layers().get(1).op()).p(), 1e-6);
    }

    @Test
    void resizeAndUpsample() throws Exception {
        var b = image(13, 4, 5, 6);
        String y = b.node("Resize", List.of("x", "", b.floats(new float[]{1, 1, 2, 2}, 4)), s("mode", "nearest"));
        ModelDef m = b.output(y).load(dir);
        shape(m, 4, 10, 12);
        assertEquals(1, count(m, "Upsample"));
        var c = image(13, 4, 5, 6);
        String yc = c.node("Resize", List.of("x", "", "", c.ints(1, 4, 15, 18)), s("mode", "linear"));
        shape(c.output(yc).load(dir), 4, 15, 18);
        var u = image(9, 4, 5, 6);
        String yu = u.node("Upsample", List.of("x", u.floats(new float[]{1, 1, 2, 2}, 4)));
        shape(u.output(yu).load(dir), 4, 10, 12);
    }

    @Test
    void padClipCastIdentity() throws Exception {
        var b = image(13, 4, 5, 6);
        String p = b.node("Pad", List.of("x", b.ints(0, 0, 1, 2, 0, 0, 1, 2)), s("mode", "reflect"));
        String c = b.node("Clip", List.of(p, b.scalar(0), b.scalar(6)));
        String cast = b.node("Cast", List.of(c), i("to", FLOAT));
        String id = b.node("Identity", List.of(cast));
        ModelDef m = b.output(id).load(dir);
        shape(m, 4, 7, 10);
        assertEquals(1, count(m, "Pad"));
        assertEquals(1, count(m, "Clip"));
        assertEquals(5, m.layers().size()); // input, Pad, Clip, target, loss: float-to-float Cast and Identity add nothing

        var old = image(10, 4, 5, 6);
        String co = old.node("Clip", List.of("x"), f("min", 0), f("max", 6));
        ModelDef mo = old.output(co).load(dir);
        assertEquals(new memplan.ops.Clip(0, 6), mo.layers().get(1).op());

        var ints = new OnnxGraphBuilder(13).input("mask", INT64, "N", 6);
        ModelDef mi = ints.output(ints.node("Cast", List.of("mask"), i("to", FLOAT))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(1, count(mi, "Cast"));
    }

    @Test
    void sharedInitializerIsTiedNotCountedTwice() throws Exception {
        var b = new OnnxGraphBuilder(13).input("ids", INT64, "N", 7);
        String table = b.weight("wte", 50, 16);
        String h = b.node("Gather", List.of(table, "ids"));
        String wt = b.node("Transpose", List.of(table), is("perm", 1, 0));
        String logits = b.node("MatMul", List.of(h, wt));
        ModelDef m = b.output(logits).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.CE));
        shape(m, 7, 50);
        assertEquals(800, params(m));
    }

    /** BERT-style: position ids sliced to the sequence, then rows of a large table gathered and added. */
    @Test
    void positionalTableRowsBecomeAParameter() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 8, 64);
        String table = b.weight("pos", 512, 64);
        String pos = b.node("Slice", List.of(table, b.ints(0), b.ints(8), b.ints(0)));
        String y = b.node("Add", List.of("x", pos));
        ModelDef m = b.output(y).load(dir);
        shape(m, 8, 64);
        assertEquals(8 * 64, params(m));
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 8, 64);
        String rows = g.node("Gather", List.of(g.weight("pos", 512, 64), g.ints(0, 1, 2, 3, 4, 5, 6, 7)));
        ModelDef mg = g.output(g.node("Add", List.of("x", rows))).load(dir);
        shape(mg, 8, 64);
        assertEquals(8 * 64, params(mg));
    }

    @Test
    void moreConvolutionVariants() throws Exception {
        var dw = image(13, 8, 9, 9);
        String y = dw.node("Conv", List.of("x", dw.weight("w", 8, 1, 3, 3)), i("group", 8), is("dilations", 2, 2), is("pads", 2, 2, 2, 2));
        ModelDef m = dw.output(y).load(dir);
        shape(m, 8, 9, 9);
        assertEquals(72, params(m));
        var ct = image(13, 4, 5, 5);
        String yc = ct.node("ConvTranspose", List.of("x", ct.weight("w", 4, 3, 3, 3)), is("strides", 2, 2), is("output_shape", 10, 10));
        shape(ct.output(yc).load(dir), 3, 10, 10);
        var cs = image(13, 4, 5, 5);
        String ys = cs.node("ConvTranspose", List.of("x", cs.weight("w", 4, 3, 3, 3)), is("strides", 2, 2), s("auto_pad", "SAME_UPPER"));
        shape(cs.output(ys).load(dir), 3, 10, 10);
        var sl = image(13, 3, 8, 8);
        String yl = sl.node("Conv", List.of("x", sl.weight("w", 4, 3, 3, 3)), s("auto_pad", "SAME_LOWER"), is("strides", 2, 2));
        shape(sl.output(yl).load(dir), 4, 4, 4);
    }

    @Test
    void gemmVariants() throws Exception {
        var b = new OnnxGraphBuilder(13).input("a", FLOAT, "N", 16).input("w", FLOAT, 16, 10);
        // "w" has no batch axis: name the batch symbol so its fixed axis 0 stays fixed
        ModelDef m = b.output(b.node("Gemm", List.of("a", "w", b.weight("c", 1, 10)))).load(dir, OnnxOptions.defaults().withBatchSymbol("N"));
        shape(m, 10);
        assertEquals(1, count(m, "MatMul"));
        assertEquals(10, params(m)); // the added C
        var c = new OnnxGraphBuilder(13).input("a", FLOAT, "N", 16);
        ModelDef mc = c.output(c.node("Gemm", List.of("a", c.weight("w", 10, 16), c.weight("c", 1, 10)), i("transB", 1), f("alpha", 0.5))).load(dir);
        shape(mc, 10);
        assertEquals(170, params(mc));
    }

    @Test
    void clipWithOnlyAMaxAndResizeAtLaterOpsets() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6);
        ModelDef m = b.output(b.node("Clip", List.of("x", "", b.scalar(6)))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(new memplan.ops.Clip(Double.NEGATIVE_INFINITY, 6), m.layers().get(1).op());
        var r = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 6);
        ModelDef relu = r.output(r.node("Clip", List.of("x", r.scalar(0)))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
        assertEquals(new memplan.ops.ReLU(), relu.layers().get(1).op());
        for (int opset : new int[]{18, 19, 21}) {
            var z = image(opset, 4, 5, 6);
            String y = z.node("Resize", List.of("x", "", z.floats(new float[]{1, 1, 3, 3}, 4)), s("mode", "linear"), s("coordinate_transformation_mode", "half_pixel"));
            shape(z.output(y).load(dir), 4, 15, 18);
        }
        var frac = image(13, 4, 5, 6);
        String yf = frac.node("Resize", List.of("x", "", frac.floats(new float[]{1, 1, 1.5f, 1.5f}, 4)));
        shape(frac.output(yf).load(dir), 4, 7, 9); // floor(5 * 1.5), floor(6 * 1.5)
        var bad = image(13, 4, 5, 6);
        String y = bad.node("Resize", List.of("x", "", bad.floats(new float[]{1, 1, 1.5f, 1.5f}, 4)),
                s("coordinate_transformation_mode", "tf_crop_and_resize"));
        var e = assertThrows(memplan.io.ModelFormatException.class, () -> bad.output(y).load(dir));
        assertTrue(e.reason().contains("Resize (tf_crop_and_resize) x1"), e.reason());
    }

    @Test
    void lossChoice() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 16);
        ModelDef ce = b.output(b.node("Relu", List.of("x"))).load(dir);
        var loss = ce.layers().get(ce.layers().size() - 1);
        assertInstanceOf(CrossEntropy.class, loss.op());
        assertEquals(memplan.ir.DType.INT64, ((memplan.ops.Input) ce.layer(loss.inputs().get(1)).op()).dtype());

        var c = image(13, 4, 5, 6);
        ModelDef mse = c.output(c.node("Relu", List.of("x"))).load(dir);
        assertInstanceOf(MseLoss.class, mse.layers().get(mse.layers().size() - 1).op());

        var l = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 7, 16);
        ModelDef lm = l.output(l.node("Relu", List.of("x"))).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.CE));
        assertEquals(new CrossEntropy(-1), lm.layers().get(lm.layers().size() - 1).op());
        assertEquals(Shape.of(3, 7), at(lm, 3).node(lm.layers().get(lm.layers().size() - 1).name()).inShapes().get(1));
    }

    @Test
    void symbolicDimensionsFromInputShapes() throws Exception {
        var b = new OnnxGraphBuilder(13).input("ids", INT64, "batch", "seq");
        String emb = b.node("Gather", List.of(b.weight("table", 100, 16), "ids"));
        var opts = OnnxOptions.defaults().withInputShape("ids", 1, 12).withLoss(OnnxOptions.Loss.CE);
        ModelDef m = b.output(emb).load(dir, opts);
        assertEquals(Shape.of(3, 12, 16), outShape(m, 3));
    }

    @Test
    void fixedBatchInFileStillFollowsBatch() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, 1, 4, 3, 2);
        String y = b.node("Reshape", List.of("x", b.ints(1, 24)));
        ModelDef m = b.output(y).load(dir);
        assertEquals(Shape.of(6, 24), outShape(m, 6));
    }

    @Test
    void importedModelRoundTripsThroughJson() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 5, 16).input("z", FLOAT, "N", 5, 1);
        String a = b.node("Sub", List.of("x", "z"));
        String c = b.node("Add", List.of(a, b.weight("bias", 16)));
        String r = b.node("ReduceMean", List.of(c), is("axes", -1));
        String p = b.node("Pad", List.of(r, b.ints(0, 0, 1, 0, 0, 1)));
        ModelDef m = b.output(p).load(dir);
        String json = memplan.io.ModelJson.write(m);
        ModelDef back = memplan.io.ModelJson.parse(json, "round trip");
        assertEquals(m.layers(), back.layers());
    }
}

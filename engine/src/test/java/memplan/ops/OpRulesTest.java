package memplan.ops;

import memplan.ir.AuxSpec;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Parameters, flops, aux tensors and backward needs of every op. The backward needs are checked against
 * the PyTorch conventions of shared/reference-saved-tensors.md (what autograd saves for each op's backward).
 */
public class OpRulesTest {
    static Shape s(int... d) {
        return Shape.of(d);
    }

    static List<Shape> out(Op op, List<Shape> in) {
        return op.inferShapes(in);
    }

    /** One instance of every registered op with inputs it accepts. */
    public static Map<Op, List<Shape>> examples() {
        Map<Op, List<Shape>> m = new LinkedHashMap<>();
        m.put(Conv2d.of(8, 3, 1, 1, true), List.of(s(2, 4, 6, 6)));
        m.put(new Linear(10, true), List.of(s(4, 20)));
        m.put(new MatMul(false), List.of(s(2, 3, 4), s(2, 4, 5)));
        m.put(new BatchNorm2d(1e-5, 0.1), List.of(s(2, 3, 4, 4)));
        m.put(new LayerNorm(1e-5), List.of(s(2, 5, 8)));
        m.put(new ReLU(), List.of(s(2, 3)));
        m.put(new GELU(), List.of(s(2, 3)));
        m.put(new Sigmoid(), List.of(s(2, 3)));
        m.put(new Tanh(), List.of(s(2, 3)));
        m.put(new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), List.of(s(1, 3, 6, 6)));
        m.put(new AvgPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), List.of(s(1, 3, 6, 6)));
        m.put(new GlobalAvgPool(), List.of(s(1, 3, 6, 6)));
        m.put(Conv3d.of(4, 3, 1, 1, true), List.of(s(2, 3, 4, 5, 5)));
        m.put(new GroupNorm(2, 1e-5, true), List.of(s(2, 4, 3, 3)));
        m.put(new MaxPool3d(Triple.of(2), Triple.of(2), Triple.of(0)), List.of(s(1, 3, 4, 6, 6)));
        m.put(new AvgPool3d(new Triple(1, 2, 2), new Triple(1, 2, 2), Triple.of(0)), List.of(s(1, 3, 3, 6, 6)));
        m.put(new Add(), List.of(s(2, 3), s(2, 3)));
        m.put(new Mul(), List.of(s(2, 3), s(2, 3)));
        m.put(new Concat(1), List.of(s(2, 3), s(2, 4)));
        m.put(new Flatten(1), List.of(s(2, 3, 4)));
        m.put(new Reshape(List.of(0, -1)), List.of(s(2, 3, 4)));
        m.put(new Transpose(List.of(1, 0)), List.of(s(2, 3)));
        m.put(new Dropout(0.1), List.of(s(2, 3)));
        m.put(new Embedding(100, 16), List.of(s(2, 7)));
        m.put(new Softmax(), List.of(s(2, 3)));
        m.put(new Attention(4, true), List.of(s(2, 10, 32), s(2, 10, 32), s(2, 10, 32)));
        m.put(new LSTMCell(8), List.of(s(4, 3), s(4, 8), s(4, 8)));
        m.put(new CrossEntropy(1), List.of(s(4, 10), s(4)));
        m.put(new MseLoss(), List.of(s(4, 3), s(4, 3)));
        m.put(new Upsample(2), List.of(s(1, 2, 3, 4)));
        m.put(new Slice(1, 0, 1), List.of(s(2, 5, 8)));
        // added for the ONNX importer (docs/onnx.md)
        m.put(new ConvTranspose2d(4, Pair.of(2), Pair.of(2), Pair.of(0), Pair.of(0), Pair.of(1), 1, true), List.of(s(1, 8, 5, 6)));
        m.put(new LeakyReLU(0.01), List.of(s(2, 3)));
        m.put(new HardSigmoid(0.2, 0.5), List.of(s(2, 3)));
        m.put(new HardSwish(), List.of(s(2, 3)));
        m.put(new Mish(), List.of(s(2, 3)));
        m.put(new SiLU(), List.of(s(2, 3)));
        m.put(new Sqrt(), List.of(s(2, 3)));
        m.put(new Clip(0, 6), List.of(s(2, 3)));
        m.put(new Cast(null), List.of(s(2, 3)));
        m.put(new Sub(), List.of(s(2, 3), s(2, 1)));
        // Llama-style blocks
        m.put(new RMSNorm(1e-6), List.of(s(2, 5, 8)));
        m.put(new GatedActivation(GatedActivation.Gate.SILU), List.of(s(2, 5, 8), s(2, 5, 8)));
        m.put(new RotaryEmbedding(4, 10000), List.of(s(2, 5, 8)));
        m.put(new Div(), List.of(s(2, 3), s(2, 1)));
        m.put(new Pow(), List.of(s(2, 3), s(2, 3)));
        m.put(new ConstElementwise("add", List.of(3), 0, false, true), List.of(s(2, 3)));
        m.put(new ReduceMean(List.of(1), true), List.of(s(2, 3)));
        m.put(new Split(1, List.of(1, 2)), List.of(s(2, 3)));
        m.put(new Pad(List.of(0, 1, 0, 1), "constant"), List.of(s(2, 3)));
        m.put(new Opaque("onnx:Selu", 1, 1), List.of(s(2, 3)));
        m.put(new MaskedFill(List.of(1, 3), -1e9, true), List.of(s(2, 3)));
        m.put(new Fill(List.of("2", "3"), 1.5, null), List.of());
        m.put(new Compare(Compare.Relation.LESS, null), List.of(s(2, 3), s(1, 3)));
        m.put(new ConvTranspose3d(4, Triple.of(2), Triple.of(2), Triple.of(0), Triple.of(0), Triple.of(1), 1, true),
                List.of(s(1, 6, 2, 3, 3)));
        m.put(new Resize(List.of(7, 9), List.of(1.5, 1.5), "linear", "half_pixel", "round_prefer_floor", -0.75, false),
                List.of(s(2, 3, 5, 6)));
        m.put(new Flip(List.of(-1)), List.of(s(2, 3)));
        m.put(new CumSum(1, false, false), List.of(s(2, 3)));
        m.put(new TopK(-1, 2, true, true), List.of(s(2, 5)));
        m.put(new ScatterND(false), List.of(s(4, 3), s(2, 1), s(2, 3)));
        return m;
    }

    @Test
    void examplesCoverEveryRegisteredOpButInput() {
        Set<String> types = new java.util.HashSet<>();
        for (Op op : examples().keySet()) types.add(op.type());
        types.add("Input");
        assertEquals(OpType.names(), types);
    }

    @Test
    void parameterShapes() {
        assertEquals(List.of(ParamSpec.trainable("weight", 64, 3, 7, 7)), Conv2d.of(64, 7, 2, 3, false).params(List.of(s(1, 3, 224, 224))));
        assertEquals(9408, Conv2d.of(64, 7, 2, 3, false).params(List.of(s(1, 3, 224, 224))).get(0).shape().numel());
        Conv2d depthwise = new Conv2d(32, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 32, true);
        assertEquals(List.of(ParamSpec.trainable("weight", 32, 1, 3, 3), ParamSpec.trainable("bias", 32)),
                depthwise.params(List.of(s(1, 32, 8, 8))));
        assertEquals(List.of(ParamSpec.trainable("weight", 10, 20), ParamSpec.trainable("bias", 10)),
                new Linear(10, true).params(List.of(s(4, 20))));
        assertEquals(List.of(ParamSpec.trainable("weight", 10, 20)), new Linear(10, false).params(List.of(s(4, 20))));
        assertEquals(List.of(ParamSpec.trainable("weight", 3), ParamSpec.trainable("bias", 3),
                        ParamSpec.buffer("running_mean", 3), ParamSpec.buffer("running_var", 3)),
                new BatchNorm2d(1e-5, 0.1).params(List.of(s(2, 3, 4, 4))));
        assertEquals(List.of(ParamSpec.trainable("weight", 8), ParamSpec.trainable("bias", 8)),
                new LayerNorm(1e-5).params(List.of(s(2, 5, 8))));
        assertEquals(List.of(ParamSpec.trainable("weight", 100, 16)), new Embedding(100, 16).params(List.of(s(2, 7))));
        List<ParamSpec> lstm = new LSTMCell(8).params(List.of(s(4, 3), s(4, 8), s(4, 8)));
        assertEquals(List.of(ParamSpec.trainable("weight_ih", 32, 3), ParamSpec.trainable("weight_hh", 32, 8),
                ParamSpec.trainable("bias_ih", 32), ParamSpec.trainable("bias_hh", 32)), lstm);
        assertEquals(416, lstm.stream().mapToLong(p -> p.shape().numel()).sum()); // 4H(I+H) + 8H = 32*11 + 64

        Set<String> withParams = Set.of("Conv2d", "Conv3d", "GroupNorm", "Linear", "BatchNorm2d", "LayerNorm", "Embedding", "LSTMCell",
                "ConvTranspose2d", "ConstElementwise", "MaskedFill", "RMSNorm", "ConvTranspose3d");
        // PyTorch's ConvTranspose3d weight layout [in, out/groups, kd, kh, kw]
        assertEquals(List.of(ParamSpec.trainable("weight", 6, 2, 2, 3, 1), ParamSpec.trainable("bias", 4)),
                new ConvTranspose3d(4, new Triple(2, 3, 1), Triple.of(2), Triple.of(0), Triple.of(0), Triple.of(1), 2,
                        true).params(List.of(s(1, 6, 2, 3, 3))));
        assertEquals(List.of(ParamSpec.trainable("weight", 4, 3, 3, 5, 5), ParamSpec.trainable("bias", 4)),
                new Conv3d(4, new Triple(3, 5, 5), Triple.of(1), Triple.of(0), Triple.of(1), 1, true)
                        .params(List.of(s(1, 3, 4, 8, 8))));
        assertEquals(List.of(ParamSpec.trainable("weight", 8)), new RMSNorm(1e-6).params(List.of(s(2, 5, 8))), "no bias");
        assertEquals(List.of(ParamSpec.trainable("weight", 8, 4, 2, 2), ParamSpec.trainable("bias", 4)),
                new ConvTranspose2d(4, Pair.of(2), Pair.of(2), Pair.of(0), Pair.of(0), Pair.of(1), 1, true).params(List.of(s(1, 8, 5, 6))));
        assertEquals(List.of(ParamSpec.trainable("const", 3)), new ConstElementwise("add", List.of(3), 0, false, true).params(List.of(s(2, 3))));
        assertEquals(List.of(ParamSpec.buffer("const", 3)), new ConstElementwise("mul", List.of(3), 0, false, false).params(List.of(s(2, 3))));
        assertEquals(List.of(), ConstElementwise.scalar("mul", 0.5, false).params(List.of(s(2, 3))), "a scalar is a hyperparameter");
        assertEquals(List.of(ParamSpec.buffer("mask", 1, 3)), new MaskedFill(List.of(1, 3), 0, true).params(List.of(s(2, 3))));
        examples().forEach((op, in) -> {
            if (!withParams.contains(op.type())) assertEquals(List.of(), op.params(in), op.type() + " owns no parameters");
        });
    }

    @Test
    void handComputedFlops() {
        // ResNet's first conv at batch 1: 64x112x112 outputs, each 3*7*7 multiply-adds = 294 flops.
        List<Shape> in = List.of(s(1, 3, 224, 224));
        Conv2d c = Conv2d.of(64, 7, 2, 3, false);
        assertEquals(64L * 112 * 112 * 294, c.flops(in, out(c, in)));
        assertEquals(236_027_904L, c.flops(in, out(c, in)));
        // With bias: one more add per output.
        Conv2d cb = Conv2d.of(64, 7, 2, 3, true);
        assertEquals(236_027_904L + 802_816L, cb.flops(in, out(cb, in)));
        // Depthwise 3x3 over 32 channels of 8x8: per output 2*1*9.
        Conv2d dw = new Conv2d(32, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 32, false);
        assertEquals(32L * 64 * 18, dw.flops(List.of(s(1, 32, 8, 8)), List.of(s(1, 32, 8, 8))));
        // r3d_18's stem at batch 1 on 8x112x112: 64x8x56x56 outputs, each 3*3*7*7 multiply-adds = 882 flops.
        Conv3d stem = new Conv3d(64, new Triple(3, 7, 7), new Triple(1, 2, 2), new Triple(1, 3, 3), Triple.of(1), 1,
                false);
        List<Shape> clip = List.of(s(1, 3, 8, 112, 112));
        assertEquals(List.of(s(1, 64, 8, 56, 56)), out(stem, clip));
        assertEquals(64L * 8 * 56 * 56 * 882, stem.flops(clip, out(stem, clip)));
        assertEquals(3L * 147 * 8 * 56 * 56, stem.workspaceElements(clip, out(stem, clip)), "vol2col of one clip");
        // Linear 20 -> 10 on 4 rows: 2*4*20*10 multiply-adds + 40 bias adds.
        assertEquals(1640, new Linear(10, true).flops(List.of(s(4, 20)), List.of(s(4, 10))));
        // Batched 3x4 @ 4x5, batch 2: 2 * 30 outputs * 4.
        assertEquals(240, new MatMul(false).flops(List.of(s(2, 3, 4), s(2, 4, 5)), List.of(s(2, 3, 5))));
        // Attention N=2, T=10, D=32, 4 heads: QK^T and PV = 4*N*T*T*D, softmax 5 per score.
        assertEquals(4L * 2 * 10 * 10 * 32 + 5L * 2 * 4 * 10 * 10,
                new Attention(4, true).flops(List.of(s(2, 10, 32), s(2, 10, 32), s(2, 10, 32)), List.of(s(2, 10, 32))));
        // LSTM cell N=4, I=3, H=8: two GEMMs into 4H gates + 12 flops per hidden unit.
        assertEquals(2L * 4 * 32 * 11 + 12L * 4 * 8, new LSTMCell(8).flops(List.of(s(4, 3), s(4, 8), s(4, 8)), List.of(s(4, 8), s(4, 8))));
        // Backward of an op with weights costs twice its forward (grad input + grad weight).
        assertEquals(2 * 1640, new Linear(10, true).backwardFlops(List.of(s(4, 20)), List.of(s(4, 10))));
        // Views and copies cost nothing.
        assertEquals(0, new Reshape(List.of(-1)).flops(List.of(s(2, 3)), List.of(s(6))));
        assertEquals(0, new Flatten(1).flops(List.of(s(2, 3, 4)), List.of(s(2, 12))));
    }

    @Test
    void auxTensors() {
        assertEquals(List.of(new AuxSpec("indices", s(1, 3, 3, 3), DType.INT64)),
                new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)).aux(List.of(s(1, 3, 6, 6)), List.of(s(1, 3, 3, 3))));
        assertEquals(List.of(new AuxSpec("indices", s(1, 3, 2, 3, 3), DType.INT64)),
                new MaxPool3d(Triple.of(2), Triple.of(2), Triple.of(0)).aux(List.of(s(1, 3, 4, 6, 6)),
                        List.of(s(1, 3, 2, 3, 3))));
        assertEquals(List.of(new AuxSpec("mean", s(2, 4), DType.FP32), new AuxSpec("rstd", s(2, 4), DType.FP32)),
                new GroupNorm(4, 1e-5, true).aux(List.of(s(2, 8, 5, 5)), List.of(s(2, 8, 5, 5))),
                "native_group_norm's statistics per (image, group)");
        assertEquals(List.of(), new GroupNorm(4, 1e-5, false).params(List.of(s(2, 8, 5, 5))));
        assertEquals(List.of(new AuxSpec("mask", s(2, 3), DType.BOOL)), new Dropout(0.1).aux(List.of(s(2, 3)), List.of(s(2, 3))));
        assertEquals(1, DType.BOOL.bytes, "dropout's mask is one byte per element");
        assertEquals(8, DType.INT64.bytes, "max-pool indices are int64");
        assertEquals(List.of(new AuxSpec("mean", s(3), DType.FP32), new AuxSpec("invstd", s(3), DType.FP32)),
                new BatchNorm2d(1e-5, 0.1).aux(List.of(s(2, 3, 4, 4)), List.of(s(2, 3, 4, 4))));
        assertEquals(List.of(new AuxSpec("mean", s(2, 5), DType.FP32), new AuxSpec("rstd", s(2, 5), DType.FP32)),
                new LayerNorm(1e-5).aux(List.of(s(2, 5, 8)), List.of(s(2, 5, 8))));
        assertEquals(List.of(new AuxSpec("log_softmax", s(4, 10), null)), new CrossEntropy(1).aux(List.of(s(4, 10), s(4)), List.of(s())));
        assertEquals(List.of(new AuxSpec("lse", s(2, 4, 10), DType.FP32)),
                new Attention(4, true).aux(List.of(s(2, 10, 32), s(2, 10, 32), s(2, 10, 32)), List.of(s(2, 10, 32))));
        assertEquals(List.of(new AuxSpec("gates", s(4, 32), null)),
                new LSTMCell(8).aux(List.of(s(4, 3), s(4, 8), s(4, 8)), List.of(s(4, 8), s(4, 8))));
        // RMSNorm as Hugging Face's module saves it in PyTorch 1.13: rstd, x * rstd, and x^2 (mean keeps its input)
        assertEquals(List.of(new AuxSpec("rstd", s(2, 5), DType.FP32), new AuxSpec("normalized", s(2, 5, 8), null),
                new AuxSpec("squared", s(2, 5, 8), null)), new RMSNorm(1e-6).aux(List.of(s(2, 5, 8)), List.of(s(2, 5, 8))));
        assertEquals(List.of(new AuxSpec("activated", s(2, 5, 8), null)), new GatedActivation(GatedActivation.Gate.GELU)
                .aux(List.of(s(2, 5, 8), s(2, 5, 8)), List.of(s(2, 5, 8))));
        // eager attention keeps the T x T probabilities per head, and for grouped heads k and v repeated to every head
        Attention eager = new Attention(4, 2, true, Attention.Form.EAGER);
        List<Shape> gqa = List.of(s(2, 10, 32), s(2, 10, 16), s(2, 10, 16));
        assertEquals(List.of(new AuxSpec("probs", s(2, 4, 10, 10), null), new AuxSpec("key_rep", s(2, 10, 32), null),
                new AuxSpec("value_rep", s(2, 10, 32), null)), eager.aux(gqa, List.of(s(2, 10, 32))));
        assertEquals(BackwardNeeds.inputs(0).withAux(), eager.backwardNeeds());
        assertEquals(BackwardNeeds.inputs(0, 1, 2).withAux(), new Attention(4, 4, true, Attention.Form.EAGER).backwardNeeds());
        assertEquals(List.of(new AuxSpec("lse", s(2, 4, 10), DType.FP32)),
                eager.withForm(Attention.Form.FUSED).aux(gqa, List.of(s(2, 10, 32))));
        assertEquals(2L * 4 * 10 * 10, eager.workspaceElements(gqa, List.of(s(2, 10, 32))), "the raw scores beside");
        assertEquals(10L * 10, eager.withForm(Attention.Form.FUSED).workspaceElements(gqa, List.of(s(2, 10, 32))));
        Set<String> withAux = Set.of("MaxPool2d", "MaxPool3d", "GroupNorm", "Dropout", "BatchNorm2d", "LayerNorm", "CrossEntropy", "Attention",
                "LSTMCell", "RMSNorm", "GatedActivation");
        examples().forEach((op, in) -> {
            List<AuxSpec> aux = op.aux(in, out(op, in));
            assertEquals(withAux.contains(op.type()), !aux.isEmpty(), op.type() + " aux " + aux);
            assertEquals(!aux.isEmpty(), op.backwardNeeds().aux(), op.type() + ": aux is written only for backward");
        });
    }

    /** The PyTorch conventions of reference-saved-tensors.md, op by op. */
    @Test
    void backwardNeedsFollowPyTorch() {
        Map<String, BackwardNeeds> expected = new LinkedHashMap<>();
        expected.put("Conv2d", BackwardNeeds.inputs(0).withParams());          // input, weight
        expected.put("Linear", BackwardNeeds.inputs(0).withParams());          // input, weight
        expected.put("MatMul", BackwardNeeds.inputs(0, 1));                    // both operands
        expected.put("ReLU", BackwardNeeds.outputs(0));                        // its output
        expected.put("Sigmoid", BackwardNeeds.outputs(0));                     // output
        expected.put("Tanh", BackwardNeeds.outputs(0));                        // output
        expected.put("GELU", BackwardNeeds.inputs(0));                         // input
        expected.put("BatchNorm2d", BackwardNeeds.inputs(0).withParams().withAux()); // input, weight, mean, invstd
        expected.put("LayerNorm", BackwardNeeds.inputs(0).withParams().withAux());   // input, weight, bias, mean, rstd
        expected.put("MaxPool2d", BackwardNeeds.inputs(0).withAux());          // input + int64 indices
        expected.put("Conv3d", BackwardNeeds.inputs(0).withParams());          // input, weight
        expected.put("MaxPool3d", BackwardNeeds.inputs(0).withAux());          // input + int64 indices
        expected.put("AvgPool3d", BackwardNeeds.NOTHING);
        expected.put("GroupNorm", BackwardNeeds.inputs(0).withParams().withAux()); // input, weight, mean, rstd
        // PyTorch keeps the input of average pools only for its shape: no activation memory.
        expected.put("AvgPool2d", BackwardNeeds.NOTHING);
        expected.put("GlobalAvgPool", BackwardNeeds.NOTHING);
        expected.put("Dropout", BackwardNeeds.NOTHING.withAux());              // the 1-byte mask only
        expected.put("Add", BackwardNeeds.NOTHING);
        expected.put("Concat", BackwardNeeds.NOTHING);
        expected.put("Flatten", BackwardNeeds.NOTHING);
        expected.put("Reshape", BackwardNeeds.NOTHING);
        expected.put("Transpose", BackwardNeeds.NOTHING);
        expected.put("Slice", BackwardNeeds.NOTHING);
        expected.put("Upsample", BackwardNeeds.NOTHING);
        expected.put("Mul", BackwardNeeds.inputs(0, 1));                       // both inputs
        expected.put("Softmax", BackwardNeeds.outputs(0));                     // output
        expected.put("Embedding", BackwardNeeds.inputs(0));                    // indices
        expected.put("CrossEntropy", BackwardNeeds.inputs(1).withAux());       // log-softmax + target
        expected.put("MseLoss", BackwardNeeds.inputs(0, 1));
        // Fused attention: q, k, v, output and the per-row log-sum-exp (not the T x T probabilities).
        expected.put("Attention", new BackwardNeeds(Set.of(0, 1, 2), Set.of(0), false, true));
        // Fused LSTM: input, initial states, weights, the new cell state and the gates reserve.
        expected.put("LSTMCell", new BackwardNeeds(Set.of(0, 1, 2), Set.of(1), true, true));
        // ops added for the ONNX importer
        expected.put("ConvTranspose2d", BackwardNeeds.inputs(0).withParams());  // input, weight
        expected.put("ConvTranspose3d", BackwardNeeds.inputs(0).withParams());  // input, weight
        expected.put("Resize", BackwardNeeds.NOTHING);                         // upsample_*: the input size only
        expected.put("Flip", BackwardNeeds.NOTHING);                           // flip: nothing
        expected.put("LeakyReLU", BackwardNeeds.inputs(0));                    // input (out of place)
        expected.put("HardSigmoid", BackwardNeeds.inputs(0));                  // input
        expected.put("HardSwish", BackwardNeeds.inputs(0));                    // input
        expected.put("Mish", BackwardNeeds.inputs(0));                         // input (mish_backward)
        expected.put("SiLU", BackwardNeeds.inputs(0));                         // input (silu_backward)
        expected.put("Sqrt", BackwardNeeds.outputs(0));                        // result
        expected.put("Clip", BackwardNeeds.outputs(0));                        // result (hardtanh in place)
        expected.put("Cast", BackwardNeeds.NOTHING);
        expected.put("Sub", BackwardNeeds.NOTHING);
        expected.put("Div", BackwardNeeds.inputs(0, 1));                       // self, other
        expected.put("Pow", new BackwardNeeds(Set.of(0, 1), Set.of(0), false, false)); // self, exponent, result
        expected.put("ConstElementwise", BackwardNeeds.NOTHING);               // adding a (trainable) constant
        expected.put("ReduceMean", BackwardNeeds.NOTHING);                     // only the input's shape
        expected.put("Split", BackwardNeeds.NOTHING);
        expected.put("Pad", BackwardNeeds.NOTHING);
        expected.put("Opaque", BackwardNeeds.inputs(0));                       // assumed
        expected.put("MaskedFill", BackwardNeeds.NOTHING.withParams());        // the mask
        expected.put("Fill", BackwardNeeds.NOTHING);                           // a constant
        expected.put("Compare", BackwardNeeds.NOTHING);                        // no gradient
        expected.put("CumSum", BackwardNeeds.NOTHING);                         // cumsum_backward: only the dim
        expected.put("TopK", BackwardNeeds.outputs(1));                        // the indices (value_selecting_reduction)
        expected.put("ScatterND", BackwardNeeds.inputs(1));                    // the indices (index_put)
        // Llama-style blocks, as measured with saved_tensors_hooks on tools/pytorch/llama.py
        expected.put("RMSNorm", BackwardNeeds.inputs(0).withParams().withAux()); // x, weight, rstd, x*rstd, x^2
        expected.put("GatedActivation", BackwardNeeds.inputs(0, 1).withAux()); // gate, up, silu(gate)
        expected.put("RotaryEmbedding", BackwardNeeds.NOTHING);                // only the cos/sin tables
        assertEquals(BackwardNeeds.inputs(0).withParams(), new ConstElementwise("mul", List.of(3), 0, false, true).backwardNeeds());
        assertEquals(BackwardNeeds.NOTHING.withParams(), new ConstElementwise("mul", List.of(3), 0, false, false).backwardNeeds());
        assertEquals(BackwardNeeds.NOTHING, ConstElementwise.scalar("mul", 0.5, false).backwardNeeds());
        assertEquals(BackwardNeeds.inputs(0), ConstElementwise.scalar("pow", 2, false).backwardNeeds());
        assertEquals(BackwardNeeds.inputs(1), new MaskedFill(List.of(), 0, true).backwardNeeds());
        // x mod c passes g to x: nothing saved; a learned divisor or c mod x reads x (and c)
        assertEquals(BackwardNeeds.NOTHING, new ConstElementwise("mod", List.of(3), 0, false, false).backwardNeeds());
        assertEquals(BackwardNeeds.NOTHING, ConstElementwise.scalar("fmod", 2, false).backwardNeeds());
        assertEquals(BackwardNeeds.inputs(0).withParams(),
                new ConstElementwise("mod", List.of(3), 0, false, true).backwardNeeds());
        assertEquals(BackwardNeeds.inputs(0), ConstElementwise.scalar("fmod", 2, true).backwardNeeds());
        assertEquals(List.of(ParamSpec.buffer("const", 1, 3)),
                new Compare(Compare.Relation.LESS, null, List.of(1, 3)).params(List.of(s(2, 3))));
        for (Op op : examples().keySet())
            assertEquals(expected.get(op.type()), op.backwardNeeds(), op.type());
        assertEquals(examples().size(), expected.size());
    }

    @Test
    void viewsInPlaceAndDifferentiability() {
        examples().forEach((op, in) -> {
            assertEquals(Set.of("Reshape", "Flatten").contains(op.type()), op.isView(), op.type() + " isView");
            // Overwriting input 0 is only safe when backward does not read it.
            if (op.mayRunInPlace()) {
                assertFalse(op.backwardNeeds().inputs().contains(0), op.type() + " runs in place but backward reads input 0");
                assertEquals(in.get(0), out(op, in).get(0), op.type() + " in place needs equal shapes");
            }
        });
        assertTrue(new ReLU().mayRunInPlace());
        assertFalse(new GELU().mayRunInPlace());
        assertFalse(new Embedding(10, 4).differentiable(0), "indices get no gradient");
        assertTrue(new CrossEntropy(1).differentiable(0));
        assertFalse(new CrossEntropy(1).differentiable(1), "class targets get no gradient");
        assertFalse(new MseLoss().differentiable(1), "regression targets get no gradient");
        assertTrue(new Add().differentiable(1));
        examples().forEach((op, in) -> {
            for (int i = 0; i < in.size(); i++) {
                boolean integer = op.type().equals("Embedding") && i == 0 || op.type().equals("CrossEntropy") && i == 1
                        || op.type().equals("ScatterND") && i == 1;
                assertEquals(integer, op.integerInput(i), op.type() + " input " + i + " must be an integer tensor");
                if (integer) assertFalse(op.differentiable(i), "integer inputs get no gradient");
            }
        });
    }
}

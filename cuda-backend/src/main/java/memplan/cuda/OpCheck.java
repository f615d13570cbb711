package memplan.cuda;

import memplan.backend.Backend;
import memplan.backend.BackendProvider;
import memplan.backend.Backends;
import memplan.backend.Bindings;
import memplan.backend.Codec;
import memplan.backend.cpu.BackwardArgs;
import memplan.backend.cpu.Buf;
import memplan.backend.cpu.Codecs;
import memplan.backend.cpu.CpuKernel;
import memplan.backend.cpu.CpuKernels;
import memplan.backend.cpu.CpuOptimizers;
import memplan.backend.cpu.ForwardArgs;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.graph.ValueKind;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ir.Shape;
import memplan.ops.*;
import memplan.train.Optimizer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * GPU proof, part 1: runs every op's forward and backward on the CUDA backend and on the CPU reference kernels
 * (memplan.backend.cpu) with the same random inputs, and prints the largest absolute and relative error per op
 * against the stated tolerance; then the optimizers and the codecs. Run on a machine with a GPU:
 * <pre>  java -cp '.gpu/lib/*' memplan.cuda.OpCheck [--only SUBSTRING] [--json FILE]</pre>
 * Each case runs forward, backward (overwriting gradient buffers filled with garbage first), then a recompute
 * forward and a backward that accumulates, comparing every output, aux, input gradient and parameter gradient.
 * Backward gets only what the op's backwardNeeds() declares (the rest is unbound), as under a memory plan.
 * Relative error = max |gpu - cpu| / max |cpu|. Exit status 0 when every check passes, 1 otherwise, 2 without a GPU.
 */
public final class OpCheck {
    private static final long SEED = 1234;

    /** One op on inputs of fixed shapes, checked to a relative tolerance. */
    public record Case(String name, ModelDef model, double tol) {
    }

    /** Where random test values come from: N(0, 1), or kept away from where the op is undefined or flat. */
    enum Domain {
        /** N(0, 1). */
        ANY,
        /** |N(0, 1)| + 0.25: square roots, bases of powers, denominators. */
        POSITIVE,
        /** 4 N(0, 1): reaches both flat ends of HardSwish (|x| > 3). */
        WIDE,
        /** 0 or 1: a float mask with both values. */
        MASK;

        float apply(float v) {
            return switch (this) {
                case ANY -> v;
                case POSITIVE -> Math.abs(v) + 0.25f;
                case WIDE -> 4 * v;
                case MASK -> v > 0 ? 1f : 0f;
            };
        }
    }

    /** The values of float input i of an op. */
    static Domain inputDomain(Op op, int input) {
        if (op instanceof Sqrt || op instanceof Pow && input == 0) return Domain.POSITIVE;
        if (op instanceof HardSwish || op instanceof Mish) return Domain.WIDE;
        if (op instanceof ConstElementwise c && (c.fn().equals("pow") && !c.reversed() || c.fn().equals("div")
                && c.reversed() || c.fn().endsWith("mod") && c.reversed()))
            return Domain.POSITIVE;   // x ^ c, c / x, c mod x
        return Domain.ANY;
    }

    /** The values of an op's parameters (running variances are set apart). */
    static Domain paramDomain(Op op) {
        if (op instanceof ConstElementwise c && (c.fn().equals("div") && !c.reversed() || c.fn().equals("pow")
                && c.reversed() || c.fn().endsWith("mod") && !c.reversed()))
            return Domain.POSITIVE;   // x / c, c ^ x, x mod c
        if (op instanceof MaskedFill) return Domain.MASK;
        return Domain.ANY;
    }

    private final Backend gpu;
    private final PrintStream out;
    private final List<String> rows = new ArrayList<>();
    private final List<String> json = new ArrayList<>();
    private int failures;
    private boolean all = true;

    private OpCheck(Backend gpu, PrintStream out) {
        this.gpu = gpu;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        String only = null, jsonFile = null, backend = "cuda";
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--only")) only = args[++i];
            else if (args[i].equals("--json")) jsonFile = args[++i];
            else if (args[i].equals("--backend")) backend = args[++i];   // "cpu" checks the harness itself
        }
        System.exit(run(backend, only, jsonFile));
    }

    /** Runs the checks on the named backend; returns the exit status (0 all pass, 1 failures, 2 not available). */
    public static int run(String backend, String only, String jsonFile) throws IOException {
        BackendProvider provider = Backends.named(backend);
        if (!provider.availability().available()) {
            System.out.println(backend + " backend not available: " + provider.availability().reason());
            return 2;
        }
        try (Backend gpu = provider.open(4L << 30)) {
            return run(gpu, only, jsonFile);
        }
    }

    /** Runs the checks on an open backend, printing every row. */
    public static int run(Backend gpu, String only, String jsonFile) throws IOException {
        return run(gpu, only, jsonFile, System.out, true);
    }

    /** Runs the checks on an open backend; with all = false only failing rows and the summary are printed. */
    public static int run(Backend gpu, String only, String jsonFile, PrintStream out,
            boolean all) throws IOException {
        List<Case> selected = new ArrayList<>();
        for (Case k : cases()) if (only == null || k.name.contains(only)) selected.add(k);
        boolean extras = only == null;
        return run(gpu, selected, extras || "optimizer".contains(only), extras || "codec".contains(only), jsonFile,
                out, all);
    }

    /** Runs the given op cases (and the optimizer and codec checks when asked); returns 0 when every check passes. */
    static int run(Backend gpu, List<Case> cases, boolean optimizers, boolean codecs, String jsonFile,
                   PrintStream out, boolean all) throws IOException {
        out.println("device: " + gpu.deviceDescription());
        out.printf(Locale.ROOT, "%-34s %-11s %12s %12s %10s  %s%n", "case", "phase", "max abs", "max rel", "tol",
                "result");
        OpCheck c = new OpCheck(gpu, out);
        c.all = all;
        for (Case k : cases) {
            try {
                c.run(k);
            } catch (RuntimeException e) {
                c.report(k.name, "error", Double.NaN, Double.NaN, k.tol, false, e.toString());
            }
        }
        if (optimizers) c.optimizers();
        if (codecs) c.codecs();
        int failures = c.failures;
        out.println(failures == 0 ? "ALL PASS (" + c.rows.size() + " checks)" : failures + " FAILED of "
                + c.rows.size() + " checks");
        if (jsonFile != null)
            Files.writeString(Path.of(jsonFile), "[\n" + String.join(",\n",
                    c.json) + "\n]\n");
        return failures == 0 ? 0 : 1;
    }

    // ------------------------------------------------------------------ cases

    private static Input in(DType t, int... dims) {
        List<String> d = new ArrayList<>();
        for (int v : dims) d.add(Integer.toString(v));
        return new Input(d, t);
    }

    /** One op applied to inputs of the given shapes (int[]: float, or int64 where the op wants integers) or Inputs. */
    static Case one(String name, Op op, double tol, Object... inputs) {
        ModelDef.Builder b = ModelDef.builder("check-" + name);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) {
            Input input = inputs[i] instanceof Input x ? x : in(op.integerInput(i) ? DType.INT64 : null,
                    (int[]) inputs[i]);
            names.add(b.add("in" + i, input));
        }
        b.add(new Layer("op", op, names));
        return new Case(name, b.build(), tol);
    }

    private static int[] s(int... d) {
        return d;
    }

    static List<Case> cases() {
        double t = 1e-4, mm = 2e-4;
        List<Case> c = new ArrayList<>();
        c.add(one("Conv2d 3x3 s1 p1 bias", Conv2d.of(8, 3, 1, 1, true), mm, s(2, 3, 9, 9)));
        c.add(one("Conv2d 1x1 (pointwise)", Conv2d.of(6, 1, 1, 0, false), mm, s(2, 5, 7, 7)));
        c.add(one("Conv2d 7x7 s2 p3", Conv2d.of(4, 7, 2, 3, false), mm, s(2, 3, 16, 16)));
        c.add(one("Conv2d 1x1 s2", Conv2d.of(6, 1, 2, 0, true), mm, s(2, 4, 9, 9)));
        c.add(one("Conv2d groups2 dil2", new Conv2d(6, Pair.of(3), Pair.of(2), Pair.of(2), Pair.of(2), 2, true), mm,
                s(2, 4, 11, 11)));
        c.add(one("Conv2d 1x1 groups2", new Conv2d(6, Pair.of(1), Pair.of(1), Pair.of(0), Pair.of(1), 2, false), mm,
                s(2, 4, 5, 5)));
        c.add(one("Conv3d 3x3x3 s1 p1 bias", Conv3d.of(4, 3, 1, 1, true), mm, s(2, 3, 4, 6, 6)));
        c.add(one("Conv3d 1x1x1 (pointwise)", Conv3d.of(5, 1, 1, 0, false), mm, s(2, 3, 2, 3, 4)));
        c.add(one("Conv3d groups2 dil s", new Conv3d(4, new Triple(2, 3, 1), new Triple(2, 1, 2), new Triple(1, 1, 0),
                new Triple(1, 2, 1), 2, true), mm, s(2, 4, 5, 6, 5)));
        c.add(one("MaxPool3d k3 s2 p1", new MaxPool3d(Triple.of(3), Triple.of(2), Triple.of(1)), t, s(2, 2, 5, 6, 6)));
        c.add(one("AvgPool3d k1x2x2", new AvgPool3d(new Triple(1, 2, 2), new Triple(1, 2, 2), Triple.of(0)), t,
                s(2, 3, 3, 4, 4)));
        c.add(one("AvgPool3d k3 s2 p1", new AvgPool3d(Triple.of(3), Triple.of(2), Triple.of(1)), t, s(2, 2, 5, 5, 5)));
        c.add(one("Linear bias", new Linear(17, true), mm, s(3, 5, 40)));
        c.add(one("Linear no bias 2D", new Linear(70, false), mm, s(66, 33)));
        c.add(one("MatMul", new MatMul(false), mm, s(2, 3, 5, 70), s(2, 3, 70, 9)));
        c.add(one("MatMul transposeB", new MatMul(true), mm, s(2, 67, 16), s(2, 65, 16)));
        c.add(one("BatchNorm2d", new BatchNorm2d(1e-5, 0.1), t, s(4, 6, 5, 5)));
        c.add(one("LayerNorm", new LayerNorm(1e-5), t, s(3, 7, 33)));
        c.add(one("GroupNorm affine", new GroupNorm(3, 1e-5, true), t, s(2, 6, 5, 4)));
        c.add(one("GroupNorm plain 1-D", new GroupNorm(2, 1e-5, false), t, s(3, 4, 7)));
        c.add(one("GroupNorm instance 3-D", new GroupNorm(4, 1e-5, true), t, s(2, 4, 2, 3, 3)));
        c.add(one("LayerNorm wide", new LayerNorm(1e-5), t, s(4, 768)));
        c.add(one("ReLU", new ReLU(), t, s(4, 100)));
        c.add(one("GELU", new GELU(), t, s(4, 100)));
        c.add(one("Sigmoid", new Sigmoid(), t, s(4, 100)));
        c.add(one("Tanh", new Tanh(), t, s(4, 100)));
        c.add(one("MaxPool2d k3 s2 p1", new MaxPool2d(Pair.of(3), Pair.of(2), Pair.of(1)), t, s(2, 3, 9, 9)));
        c.add(one("MaxPool2d k2", new MaxPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), t, s(2, 3, 8, 8)));
        c.add(one("AvgPool2d k3 s2 p1", new AvgPool2d(Pair.of(3), Pair.of(2), Pair.of(1)), t, s(2, 3, 9, 9)));
        c.add(one("GlobalAvgPool", new GlobalAvgPool(), t, s(2, 5, 7, 7)));
        c.add(one("Upsample x2", new Upsample(2), t, s(2, 3, 4, 5)));
        c.add(one("Add", new Add(), t, s(3, 50), s(3, 50)));
        c.add(one("Mul", new Mul(), t, s(3, 50), s(3, 50)));
        c.add(one("Concat axis1", new Concat(1), t, s(2, 3, 4), s(2, 5, 4)));
        c.add(one("Concat axis-1", new Concat(-1), t, s(2, 3, 4), s(2, 3, 2), s(2, 3, 1)));
        c.add(one("Slice axis1", new Slice(1, 1, 4), t, s(2, 6, 3)));
        c.add(one("Transpose 0213", new Transpose(List.of(0, 2, 1, 3)), t, s(2, 3, 4, 5)));
        c.add(one("Transpose 21", new Transpose(List.of(1, 0)), t, s(7, 9)));
        c.add(one("Dropout p0.3", new Dropout(0.3), t, s(4, 300)));
        c.add(one("Embedding", new Embedding(50, 16), t, in(DType.INT64, 4, 7)));
        c.add(one("Softmax", new Softmax(), t, s(6, 37)));
        c.add(one("Softmax wide", new Softmax(), t, s(3, 1500)));
        c.add(one("Attention causal", new Attention(2, true), 5e-4, s(2, 9, 16), s(2, 9, 16), s(2, 9, 16)));
        c.add(one("Attention", new Attention(2, false), 5e-4, s(2, 9, 16), s(2, 9, 16), s(2, 9, 16)));
        c.add(one("Attention cross Tk!=Tq", new Attention(3, false), 5e-4, s(2, 5, 96), s(2, 70, 96), s(2, 70, 96)));
        c.add(one("Attention causal T=80 dh=64", new Attention(2, true), 5e-4, s(2, 80, 128), s(2, 80, 128), s(2, 80,
                128)));
        c.add(one("Attention dh=40", new Attention(1, false), 5e-4, s(1, 10, 40), s(1, 10, 40), s(1, 10, 40)));
        for (Attention.Form f : Attention.Form.values()) {
            String fn = f.jsonName();
            c.add(one("Attention " + fn + " GQA causal", new Attention(4, 2, true, f), 5e-4, s(2, 9, 32), s(2, 9, 16),
                    s(2, 9, 16)));
            c.add(one("Attention " + fn + " MQA cross", new Attention(3, 1, false, f), 5e-4, s(2, 5, 48), s(2, 11, 16),
                    s(2, 11, 16)));
        }
        c.add(one("Attention eager MHA causal", new Attention(2, 2, true, Attention.Form.EAGER), 5e-4, s(2, 9, 16),
                s(2, 9, 16), s(2, 9, 16)));
        c.add(one("RMSNorm", new RMSNorm(1e-6), t, s(4, 7, 48)));
        c.add(one("RMSNorm D=600", new RMSNorm(1e-5), t, s(3, 600)));
        c.add(one("GatedActivation silu", new GatedActivation(GatedActivation.Gate.SILU), t, s(4, 100), s(4, 100)));
        c.add(one("GatedActivation gelu", new GatedActivation(GatedActivation.Gate.GELU), t, s(4, 100), s(4, 100)));
        c.add(one("RotaryEmbedding", new RotaryEmbedding(8, 10000), t, s(2, 9, 32)));
        c.add(one("LSTMCell", new LSTMCell(8), mm, s(3, 5), s(3, 8), s(3, 8)));
        c.add(one("CrossEntropy [N,C]", new CrossEntropy(1), t, s(4, 10), in(DType.INT64, 4)));
        c.add(one("CrossEntropy [N,T,V] axis-1", new CrossEntropy(-1), t, s(2, 3, 1100), in(DType.INT64, 2, 3)));
        c.add(one("CrossEntropy [N,C,H,W]", new CrossEntropy(1), t, s(2, 5, 3, 3), in(DType.INT64, 2, 3, 3)));
        c.add(one("MseLoss", new MseLoss(), t, s(4, 6), s(4, 6)));
        importedOpCases(c, t, mm);
        return c;
    }

    /** x (fn) c with a constant tensor c: learned (trainable) or a buffer. */
    private static ConstElementwise tensorConst(String fn, List<Integer> shape, boolean reversed, boolean trainable) {
        return new ConstElementwise(fn, shape, 0, reversed, trainable);
    }

    /** The ops ONNX import added, and the broadcasting forms of Add and Mul. */
    private static void importedOpCases(List<Case> c, double t, double mm) {
        c.add(one("ConvTranspose2d k3 s2 p1 op1 bias", new ConvTranspose2d(5, Pair.of(3), Pair.of(2), Pair.of(1),
                Pair.of(1), Pair.of(1), 1, true), mm, s(2, 4, 5, 6)));
        c.add(one("ConvTranspose2d k2 s2 (U-Net up)", new ConvTranspose2d(4, Pair.of(2), Pair.of(2), Pair.of(0),
                Pair.of(0), Pair.of(1), 1, false), mm, s(2, 6, 4, 4)));
        c.add(one("ConvTranspose2d groups2 dil2 bias", new ConvTranspose2d(6, Pair.of(3), Pair.of(1), Pair.of(2),
                Pair.of(0), Pair.of(2), 2, true), mm, s(2, 4, 7, 7)));
        c.add(one("LeakyReLU 0.1", new LeakyReLU(0.1), t, s(4, 100)));
        c.add(one("HardSigmoid onnx", new HardSigmoid(0.2, 0.5), t, s(4, 100)));
        c.add(one("HardSigmoid torch", new HardSigmoid(1.0 / 6, 0.5), t, s(4, 100)));
        c.add(one("HardSwish", new HardSwish(), t, s(4, 100)));
        c.add(one("Mish", new Mish(), t, s(4, 100)));
        c.add(one("SiLU", new SiLU(), t, s(4, 100)));
        c.add(one("Sqrt", new Sqrt(), t, s(4, 100)));
        c.add(one("Clip -0.5 0.5", new Clip(-0.5, 0.5), t, s(4, 100)));
        c.add(one("Clip (ReLU6)", new Clip(0, 6), t, s(4, 100)));
        c.add(one("Clip max only", new Clip(Double.NEGATIVE_INFINITY, 0.3), t, s(4, 100)));
        c.add(one("Cast fp32 to float", new Cast(null), t, s(3, 7)));
        c.add(one("Cast int64 to float", new Cast(DType.FP32), t, in(DType.INT64, 3, 7)));
        c.add(one("Cast fp32 to int64", new Cast(DType.INT64), t, s(3, 7)));
        c.add(one("Cast fp32 to int32", new Cast(DType.INT32), t, s(3, 7)));
        c.add(one("Cast fp32 to bool", new Cast(DType.BOOL), t, s(3, 7)));
        c.add(one("Cast int64 to int32", new Cast(DType.INT32), t, in(DType.INT64, 3, 7)));
        c.add(one("Cast bool to float", new Cast(null), t, in(DType.BOOL, 3, 7)));
        c.add(one("Add broadcast [2,3,4]+[3,1]", new Add(), t, s(2, 3, 4), s(3, 1)));
        c.add(one("Add broadcast both [2,1,4]+[3,4]", new Add(), t, s(2, 1, 4), s(3, 4)));
        c.add(one("Add broadcast bias [1]", new Add(), t, s(2, 3, 5), s(1)));
        c.add(one("Mul broadcast gate [N,C,1,1]", new Mul(), t, s(2, 3, 4, 5), s(2, 3, 1, 1)));
        c.add(one("Mul broadcast both", new Mul(), t, s(3, 1, 5), s(1, 4, 1)));
        c.add(one("Sub", new Sub(), t, s(3, 50), s(3, 50)));
        c.add(one("Sub broadcast [N,T,1]", new Sub(), t, s(2, 5, 8), s(2, 5, 1)));
        c.add(one("Div", new Div(), t, s(3, 50), s(3, 50)));
        c.add(one("Div broadcast", new Div(), t, s(2, 5, 8), s(2, 5, 1)));
        c.add(one("Pow", new Pow(), t, s(3, 50), s(3, 50)));
        c.add(one("Pow broadcast exponent", new Pow(), t, s(2, 3, 4), s(4)));
        c.add(one("ConstElementwise x*0.5", ConstElementwise.scalar("mul", 0.5, false), t, s(3, 40)));
        c.add(one("ConstElementwise 1-x", ConstElementwise.scalar("sub", 1, true), t, s(3, 40)));
        c.add(one("ConstElementwise x+3", ConstElementwise.scalar("add", 3, false), t, s(3, 40)));
        c.add(one("ConstElementwise x^2", ConstElementwise.scalar("pow", 2, false), t, s(3, 40)));
        c.add(one("ConstElementwise 2^x", ConstElementwise.scalar("pow", 2, true), t, s(3, 40)));
        c.add(one("ConstElementwise 2/x", ConstElementwise.scalar("div", 2, true), t, s(3, 40)));
        c.add(one("ConstElementwise x/sqrt(d)", ConstElementwise.scalar("div", Math.sqrt(8), false), t, s(3, 40)));
        c.add(one("ConstElementwise +bias[C] learned", tensorConst("add", List.of(6), false, true), t, s(2, 4, 6)));
        c.add(one("ConstElementwise *scale[C,1] learned", tensorConst("mul", List.of(4, 1), false, true), t,
                s(2, 4, 6)));
        c.add(one("ConstElementwise /c[C] learned", tensorConst("div", List.of(6), false, true), t, s(2, 4, 6)));
        c.add(one("ConstElementwise c-x buffer", tensorConst("sub", List.of(1, 6), true, false), t, s(2, 4, 6)));
        c.add(one("ConstElementwise x^c[C] learned", tensorConst("pow", List.of(6), false, true), t, s(2, 4, 6)));
        c.add(one("ConstElementwise c[C]^x learned", tensorConst("pow", List.of(6), true, true), t, s(2, 4, 6)));
        c.add(one("ConstElementwise c/x buffer big", tensorConst("div", List.of(2, 4, 6), true, false), t,
                s(4, 6)));
        c.add(one("ConstElementwise x mod 0.7", ConstElementwise.scalar("mod", 0.7, false), t, s(3, 40)));
        c.add(one("ConstElementwise x fmod -0.7", ConstElementwise.scalar("fmod", -0.7, false), t, s(3, 40)));
        c.add(one("ConstElementwise x mod c[C] learned", tensorConst("mod", List.of(6), false, true), t,
                s(2, 4, 6)));
        c.add(one("ConstElementwise c fmod x buffer", tensorConst("fmod", List.of(1, 6), true, false), t,
                s(2, 4, 6)));
        c.add(one("CumSum axis1", new CumSum(1, false, false), t, s(2, 7, 3)));
        c.add(one("CumSum last exclusive reverse", new CumSum(-1, true, true), t, s(3, 40)));
        c.add(one("CumSum axis0 reverse", new CumSum(0, false, true), t, s(5, 4)));
        c.add(one("ScatterND none k2", new ScatterND(false), t, s(4, 3, 5), in(DType.INT64, 2, 2), s(2, 5)));
        c.add(one("ScatterND add k1 repeated", new ScatterND(true), t, s(3, 4), in(DType.INT64, 5, 1), s(5, 4)));
        c.add(one("ScatterND none k3 elements", new ScatterND(false), t, s(2, 3, 2), in(DType.INT64, 4, 3),
                s(4)));
        c.add(one("TopK last k3 largest", new TopK(-1, 3, true, true), t, s(4, 9)));
        c.add(one("TopK axis1 k2 smallest", new TopK(1, 2, false, true), t, s(2, 6, 3)));
        c.add(one("TopK whole axis", new TopK(0, 5, true, true), t, s(5, 2)));
        c.add(one("ReduceMean axis1 keep", new ReduceMean(List.of(1), true), t, s(3, 7, 5)));
        c.add(one("ReduceMean last drop", new ReduceMean(List.of(-1), false), t, s(3, 4, 33)));
        c.add(one("ReduceMean all", new ReduceMean(List.of(), false), t, s(3, 4, 5)));
        c.add(one("ReduceMean axes 0,2", new ReduceMean(List.of(0, 2), true), t, s(3, 4, 5, 2)));
        c.add(one("Split axis1", new Split(1, List.of(1, 2, 3)), t, s(2, 6, 4)));
        c.add(one("Split axis-1 (q,k,v)", new Split(-1, List.of(8, 8, 8)), t, s(2, 3, 24)));
        c.add(one("Pad constant", new Pad(List.of(0, 0, 1, 2, 0, 0, 2, 1), "constant"), t, s(2, 3, 4, 5)));
        c.add(one("Pad constant crop", new Pad(List.of(0, -1, 2, 0, 1, -2), "constant"), t, s(2, 5, 6)));
        c.add(one("Pad reflect", new Pad(List.of(0, 0, 2, 1, 0, 0, 1, 2), "reflect"), t, s(2, 3, 4, 5)));
        c.add(one("Pad reflect wider than dim", new Pad(List.of(0, 5, 0, 4), "reflect"), t, s(2, 3)));
        c.add(one("Pad edge", new Pad(List.of(0, 0, 3, 1, 0, 0, 1, 3), "edge"), t, s(2, 3, 4, 5)));
        c.add(one("Pad edge dim 1", new Pad(List.of(1, 2, 2, 1), "edge"), t, s(1, 3)));
        c.add(one("Pad wrap", new Pad(List.of(0, 0, 2, 1, 0, 0, 1, 3), "wrap"), t, s(2, 3, 4, 5)));
        c.add(one("Pad wrap wider than dim", new Pad(List.of(0, 5, 0, 7), "wrap"), t, s(2, 3)));
        c.add(one("ConvTranspose3d k3 s2 p1 op1 bias", new ConvTranspose3d(4, Triple.of(3), Triple.of(2),
                Triple.of(1), Triple.of(1), Triple.of(1), 1, true), mm, s(2, 3, 2, 3, 4)));
        c.add(one("ConvTranspose3d groups2 dil anisotropic", new ConvTranspose3d(4, new Triple(2, 3, 1),
                new Triple(1, 2, 1), new Triple(0, 1, 0), new Triple(0, 1, 0), new Triple(2, 1, 1), 2, false), mm,
                s(2, 4, 3, 3, 2)));
        c.add(one("Resize bilinear x1.5", new Resize(List.of(7, 9), List.of(1.5, 1.5), "linear", "half_pixel",
                "round_prefer_floor", -0.75, false), t, s(2, 3, 5, 6)));
        c.add(one("Resize bilinear align_corners", Resize.of("linear", "align_corners", 9, 4), t, s(2, 3, 5, 6)));
        c.add(one("Resize bicubic to 7x9", Resize.of("cubic", "half_pixel", 7, 9), t, s(2, 3, 5, 6)));
        c.add(one("Resize cubic exclude_outside a-0.5", new Resize(List.of(3, 11), List.of(), "cubic",
                "pytorch_half_pixel", "floor", -0.5, true), t, s(2, 3, 5, 6)));
        c.add(one("Resize nearest x1.5 asymmetric", new Resize(List.of(7, 9), List.of(1.5, 1.5), "nearest",
                "asymmetric", "floor", -0.75, false), t, s(2, 3, 5, 6)));
        c.add(one("Resize nearest half_pixel round_prefer_ceil", new Resize(List.of(8, 3), List.of(), "nearest",
                "half_pixel", "round_prefer_ceil", -0.75, false), t, s(2, 3, 5, 6)));
        c.add(one("Resize linear 1-D x2.5", new Resize(List.of(12), List.of(2.5), "linear", "half_pixel",
                "round_prefer_floor", -0.75, false), t, s(2, 3, 5)));
        c.add(one("Resize trilinear 3-D", Resize.of("linear", "half_pixel", 3, 5, 4), t, s(2, 2, 2, 3, 2)));
        c.add(one("Flip axes 1,3", new Flip(List.of(1, 3)), t, s(2, 3, 4, 5)));
        c.add(one("Flip last", new Flip(List.of(-1)), t, s(4, 7)));
        c.add(one("MaskedFill int64 mask input", new MaskedFill(List.of(), -1e9, false), t, s(2, 3, 4),
                in(DType.INT64, 2, 1, 4)));
        c.add(one("MaskedFill bool mask input keep", new MaskedFill(List.of(), 0.5, true), t, s(2, 3, 4),
                in(DType.BOOL, 3, 4)));
        c.add(one("Compare less broadcast", new Compare(Compare.Relation.LESS, null), t, s(2, 3, 4), s(3, 1)));
        c.add(one("Compare greater scalar", new Compare(Compare.Relation.GREATER, 0.25), t, s(3, 50)));
        c.add(one("Compare equal int64 scalar", new Compare(Compare.Relation.EQUAL, 1.0), t, in(DType.INT64, 2, 5)));
        c.add(one("Compare and bool broadcast", new Compare(Compare.Relation.AND, null), t, in(DType.BOOL, 2, 4),
                in(DType.BOOL, 4)));
        c.add(one("Compare xor int64 and float", new Compare(Compare.Relation.XOR, null), t, in(DType.INT64, 2, 3),
                s(2, 3)));
        c.add(one("Compare less buffer", new Compare(Compare.Relation.LESS, null, List.of(3, 1)), t, s(2, 3, 4)));
        c.add(one("Compare not bool", new Compare(Compare.Relation.NOT, null), t, in(DType.BOOL, 7)));
        c.add(one("MaskedFill causal buffer", new MaskedFill(List.of(1, 5, 5), -1e9, true), t, s(2, 5, 5)));
        c.add(one("MaskedFill x broadcast", new MaskedFill(List.of(), 2, true), t, s(4), in(DType.INT64, 2, 3, 4)));
        c.add(one("Fill 0.5 by batch", new Fill(List.of("N", "3", "70"), 0.5, null), t));
        c.add(one("Fill bool ones", new Fill(List.of("2", "N", "9"), 1, DType.BOOL), t));
        c.add(one("Fill int64 zeros", new Fill(List.of("N", "5"), 0, DType.INT64), t));
        c.add(one("Opaque 1 in 1 out", new Opaque("onnx:Selu", 1, 1), t, s(3, 8)));
        c.add(one("Opaque 2 in 2 out", new Opaque("onnx:TopK", 2, 2), t, s(3, 8), s(3, 8)));
        c.add(one("Opaque NonZero upper bound", new Opaque("onnx:NonZero", 1, 1, Opaque.Bound.NONZERO, 0), t,
                s(3, 8)));
    }

    // ------------------------------------------------------------------ one case

    /** Byte layout of everything a node touches. */
    private static final class Layout {
        long next;

        long take(long bytes) {
            long off = next;
            next += (Math.max(bytes, 1) + Backend.ALIGNMENT - 1) / Backend.ALIGNMENT * Backend.ALIGNMENT;
            return off;
        }
    }

    private void run(Case k) {
        Graph g = Graph.instantiate(k.model, 1, DType.FP32);
        Node node = g.node("op");
        Op op = node.op();
        Layout lay = new Layout();
        long[] inOff = new long[node.inputs().length], outOff = new long[node.outputs().length];
        long[] parOff = new long[node.params().length], auxOff = new long[node.aux().length];
        long[] gIn = new long[inOff.length], gOut = new long[outOff.length], gPar = new long[parOff.length];
        for (int i = 0; i < inOff.length; i++) inOff[i] = lay.take(g.value(node.inputs()[i]).bytes());
        for (int i = 0; i < outOff.length; i++) outOff[i] = lay.take(g.value(node.outputs()[i]).bytes());
        for (int i = 0; i < parOff.length; i++) parOff[i] = lay.take(g.value(node.params()[i]).bytes());
        for (int i = 0; i < auxOff.length; i++) auxOff[i] = lay.take(g.value(node.aux()[i]).bytes());
        for (int i = 0; i < gIn.length; i++) {
            Value v = g.value(node.inputs()[i]);
            gIn[i] = op.differentiable(i) && v.dtype().floating ? lay.take(v.bytes()) : -1;
        }
        for (int i = 0; i < gOut.length; i++) {   // integer results (Cast to int64) get no gradient, as in training
            Value v = g.value(node.outputs()[i]);
            gOut[i] = v.dtype().floating ? lay.take(v.bytes()) : -1;
        }
        for (int i = 0; i < gPar.length; i++) {
            Value v = g.value(node.params()[i]);
            gPar[i] = v.kind() == ValueKind.PARAM ? lay.take(v.bytes()) : -1;
        }
        long wsElems = Math.max(op.workspaceElements(node.inShapes(), node.outShapes()),
                op.backwardWorkspaceElements(node.inShapes(), node.outShapes()));
        long ws = wsElems > 0 ? lay.take(4 * wsElems) : -1;
        long total = lay.next;
        if (total / 4 > Integer.MAX_VALUE - 16) throw new IllegalStateException("case too large");

        // Random contents for everything (garbage in gradient buffers: an overwrite must not read them).
        float[] cpu = new float[(int) (total / 4)];
        Random r = new Random(SEED);
        for (int i = 0; i < cpu.length; i++) cpu[i] = (float) (r.nextGaussian());
        for (int i = 0; i < inOff.length; i++) {
            fillIndices(g, node, i, cpu, inOff[i], r);
            Value v = g.value(node.inputs()[i]);
            Domain d = inputDomain(op, i);
            if (v.dtype() == DType.FP32) for (int j = 0; j < v.shape().numel(); j++) cpu[(int) (inOff[i] / 4)
                    + j] = d.apply(cpu[(int) (inOff[i] / 4) + j]);
        }
        for (int i = 0; i < parOff.length; i++) {
            Value v = g.value(node.params()[i]);
            Domain d = paramDomain(op);
            if (v.dtype() == DType.FP32) for (int j = 0; j < v.shape().numel(); j++) cpu[(int) (parOff[i] / 4)
                    + j] = d.apply(cpu[(int) (parOff[i] / 4) + j]);
            if (v.name().endsWith("running_var")) for (int j = 0; j < v.shape().numel(); j++) cpu[(int) (parOff[i] / 4)
                    + j] = 0.5f + r.nextFloat();
        }
        gpu.allocateArena(total);
        gpu.write(0, cpu, 0, cpu.length);

        Buf[] bIn = bufs(g, node.inputs(), inOff, cpu), bOut = bufs(g, node.outputs(), outOff, cpu);
        Buf[] bPar = bufs(g, node.params(), parOff, cpu), bAux = bufs(g, node.aux(), auxOff, cpu);
        Buf bWs = ws >= 0 ? new Buf(cpu, (int) (ws / 4), Shape.of((int) wsElems), DType.FP32) : null;
        CpuKernel kernel = CpuKernels.of(op);

        // forward
        kernel.forward(new ForwardArgs(node, bIn, bOut, bPar, bAux, bWs, true, false, SEED));
        gpu.forward(g, node, Bindings.forward(inOff, outOff, parOff, auxOff, ws), true, false, SEED);
        float[] dev = readAll(total);
        boolean dropout = op instanceof Dropout;
        compare(k, "forward", g, node.outputs(), outOff, cpu, dev);
        compare(k, "fwd aux", g, node.aux(), auxOff, cpu, dev);
        if (op instanceof BatchNorm2d) compare(k, "fwd state", g, node.params(), parOff, cpu,
                dev);   // running statistics
        if (dropout) dropoutSelfCheck(k, node, inOff[0], outOff[0], auxOff[0], dev);

        // backward, overwriting
        BackwardNeeds needs = op.backwardNeeds();
        long[] bi = new long[inOff.length], bo = new long[outOff.length], bp = new long[parOff.length],
                ba = new long[auxOff.length];
        Buf[] cbi = new Buf[bi.length], cbo = new Buf[bo.length], cbp = new Buf[bp.length], cba = new Buf[ba.length];
        for (int i = 0; i < bi.length; i++) { bi[i] = needs.inputs().contains(i) ? inOff[i] : -1; cbi[i] = bi[i] >= 0
                ? bIn[i] : null; }
        for (int i = 0; i < bo.length; i++) { bo[i] = needs.outputs().contains(i) ? outOff[i] : -1; cbo[i] = bo[i] >= 0
                ? bOut[i] : null; }
        for (int i = 0; i < bp.length; i++) { bp[i] = needs.params() ? parOff[i] : -1; cbp[i] = bp[i] >= 0 ? bPar[i]
                : null; }
        for (int i = 0; i < ba.length; i++) { ba[i] = needs.aux() ? auxOff[i] : -1; cba[i] = ba[i] >= 0 ? bAux[i]
                : null; }
        Buf[] cgOut = bufs(g, node.outputs(), gOut, cpu);
        Buf[] cgIn = gradBufs(g, node.inputs(), gIn, cpu), cgPar = gradBufs(g, node.params(), gPar, cpu);
        // pass 2, for ops with several outputs: the last output has no gradient (unused downstream), overwriting
        int passes = outOff.length > 1 ? 3 : 2;
        for (int pass = 0; pass < passes; pass++) {
            boolean acc = pass == 1;
            if (pass == 2) {
                gOut = gOut.clone();
                gOut[gOut.length - 1] = -1;
                cgOut = cgOut.clone();
                cgOut[cgOut.length - 1] = null;
            }
            if (pass > 0) {   // a recompute forward first (restores anything a backward consumed), then accumulate
                kernel.forward(new ForwardArgs(node, bIn, bOut, bPar, bAux, bWs, true, true, SEED));
                gpu.forward(g, node, Bindings.forward(inOff, outOff, parOff, auxOff, ws), true, true, SEED);
                compare(k, "recompute", g, node.outputs(), outOff, cpu, readAll(total));
            }
            boolean[] accIn = new boolean[bi.length], accPar = new boolean[bp.length];
            Arrays.fill(accIn, acc);
            Arrays.fill(accPar, acc);
            kernel.backward(new BackwardArgs(node, cbi, cbo, cbp, cba, cgOut, cgIn, cgPar, accIn, accPar, bWs));
            gpu.backward(g, node, new Bindings(bi, bo, bp, ba, ws, gOut, gIn, gPar, accIn, accPar));
            dev = readAll(total);
            String ph = pass == 2 ? "bwd partial" : acc ? "bwd acc" : "backward";
            compare(k, ph + " dx", g, node.inputs(), gIn, cpu, dev);
            compare(k, ph + " dW", g, node.params(), gPar, cpu, dev);
        }
    }

    private static void fillIndices(Graph g, Node node, int input, float[] a, long off, Random r) {
        Value v = g.value(node.inputs()[input]);
        if (v.dtype() == DType.BOOL) {
            Buf b = new Buf(a, (int) (off / 4), v.shape(), v.dtype());
            for (int i = 0; i < b.numel(); i++) b.setByte(i, r.nextInt(2));
            return;
        }
        if (v.dtype() != DType.INT64 && v.dtype() != DType.INT32) return;
        if (node.op() instanceof Cast) {   // signed values of several digits
            Buf b = new Buf(a, (int) (off / 4), v.shape(), v.dtype());
            for (int i = 0; i < b.numel(); i++) {
                if (v.dtype() == DType.INT64) b.setLong(i, r.nextInt(2001) - 1000);
                else b.setInt(i, r.nextInt(2001) - 1000);
            }
            return;
        }
        int bound = 2;
        if (node.op() instanceof Embedding e) bound = e.numEmbeddings();
        if (node.op() instanceof CrossEntropy ce) {
            Shape x = node.inShapes().get(0);
            bound = x.dim(ce.classAxis() < 0 ? ce.classAxis() + x.rank() : ce.classAxis());
        }
        Buf b = new Buf(a, (int) (off / 4), v.shape(), v.dtype());
        for (int i = 0; i < b.numel(); i++) {
            if (v.dtype() == DType.INT64) b.setLong(i, r.nextInt(bound));
            else b.setInt(i, r.nextInt(bound));
        }
    }

    private static Buf[] bufs(Graph g, int[] ids, long[] offs, float[] a) {
        Buf[] out = new Buf[ids.length];
        for (int i = 0; i < ids.length; i++)
            if (offs[i] >= 0) out[i] = new Buf(a, (int) (offs[i] / 4), g.value(ids[i]).shape(),
                    g.value(ids[i]).dtype());
        return out;
    }

    private static Buf[] gradBufs(Graph g, int[] ids, long[] offs, float[] a) {
        Buf[] out = new Buf[ids.length];
        for (int i = 0; i < ids.length; i++)
            if (offs[i] >= 0) out[i] = new Buf(a, (int) (offs[i] / 4), g.value(ids[i]).shape(), DType.FP32);
        return out;
    }

    private float[] readAll(long bytes) {
        float[] d = new float[(int) (bytes / 4)];
        gpu.read(0, d, 0, d.length);
        return d;
    }

    /** Compares the listed values (fp32 numerically, other dtypes bit for bit). */
    private void compare(Case k, String phase, Graph g, int[] ids, long[] offs, float[] cpu, float[] dev) {
        double maxAbs = 0, maxRef = 0;
        long bitDiffs = 0;
        boolean any = false, nan = false;
        for (int i = 0; i < ids.length; i++) {
            if (offs[i] < 0) continue;
            Value v = g.value(ids[i]);
            any = true;
            int o = (int) (offs[i] / 4);
            int slots = (int) Buf.slots(v.shape().numel(), v.dtype());
            if (v.dtype() == DType.FP32) {
                for (int j = 0; j < slots; j++) {
                    float a = cpu[o + j], b = dev[o + j];
                    if (Float.isNaN(a) != Float.isNaN(b)) nan = true;
                    if (Float.isNaN(a) || Float.isNaN(b)) continue;
                    maxAbs = Math.max(maxAbs, Math.abs(a - b));
                    maxRef = Math.max(maxRef, Math.abs(a));
                }
            } else {
                Buf ca = new Buf(cpu, o, v.shape(), v.dtype()), da = new Buf(dev, o, v.shape(), v.dtype());
                for (int j = 0; j < v.shape().numel(); j++) {
                    long x = v.dtype() == DType.BOOL ? ca.getByte(j) : ca.getIndex(j);
                    long y = v.dtype() == DType.BOOL ? da.getByte(j) : da.getIndex(j);
                    if (x != y) bitDiffs++;
                }
            }
        }
        if (!any) return;
        double rel = maxAbs / Math.max(maxRef, 1e-12);
        boolean ok = !nan && bitDiffs == 0 && rel <= k.tol;
        String note = nan ? "NaN mismatch" : bitDiffs > 0 ? bitDiffs + " integer/bool elements differ" : "";
        report(k.name, phase, maxAbs, rel, k.tol, ok, note);
    }

    /** The mask is the same on both when the hash matches; independently, y = x * mask / (1 - p) on the GPU. */
    private void dropoutSelfCheck(Case k, Node node, long x, long y, long mask, float[] dev) {
        double p = ((Dropout) node.op()).p();
        float sc = (float) (1.0 / (1.0 - p));
        Shape s = node.inShapes().get(0);
        Buf xb = new Buf(dev, (int) (x / 4), s, DType.FP32), yb = new Buf(dev, (int) (y / 4), s, DType.FP32);
        Buf mb = new Buf(dev, (int) (mask / 4), s, DType.BOOL);
        double maxAbs = 0;
        int kept = 0;
        for (int i = 0; i < xb.numel(); i++) {
            float want = mb.getByte(i) != 0 ? xb.get(i) * sc : 0f;
            maxAbs = Math.max(maxAbs, Math.abs(want - yb.get(i)));
            kept += mb.getByte(i) != 0 ? 1 : 0;
        }
        double frac = (double) kept / xb.numel();
        boolean ok = maxAbs == 0 && Math.abs(frac - (1 - p)) < 0.1;
        report(k.name, "self", maxAbs, 0, 0, ok, String.format(Locale.ROOT, "kept %.3f (expected %.3f)", frac, 1 - p));
    }

    private void report(String name, String phase, double maxAbs, double rel, double tol, boolean ok, String note) {
        if (!ok) failures++;
        String line = String.format(Locale.ROOT, "%-34s %-11s %12.3e %12.3e %10.1e  %s%s", name, phase, maxAbs, rel,
                tol,
                ok ? "PASS" : "FAIL", note.isEmpty() ? "" : "  (" + note + ")");
        if (all || !ok) out.println(line);
        rows.add(line);
        json.add(String.format(Locale.ROOT,
                "{\"case\":\"%s\",\"phase\":\"%s\",\"maxAbs\":%s,\"maxRel\":%s,\"tol\":%s,\"pass\":%s}",
                name, phase, num(maxAbs), num(rel), num(tol), ok));
    }

    private static String num(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    // ------------------------------------------------------------------ optimizers and codecs

    private void optimizers() {
        int n = 1000;
        for (Optimizer o : Optimizer.values()) {
            int states = o.statesPerParam;
            long total = 4L * n * (2 + states);
            float[] cpu = new float[(int) (total / 4)];
            Random r = new Random(SEED);
            for (int i = 0; i < 2 * n; i++) cpu[i] = (float) r.nextGaussian();
            gpu.allocateArena(total);
            gpu.write(0, cpu, 0, cpu.length);
            Shape s = Shape.of(n);
            Buf p = new Buf(cpu, 0, s, DType.FP32), g = new Buf(cpu, n, s, DType.FP32);
            Buf s1 = new Buf(cpu, 2 * n, s, DType.FP32), s2 = states > 1 ? new Buf(cpu, 3 * n, s, DType.FP32) : null;
            long[] st = states > 1 ? new long[]{8L * n, 12L * n} : new long[]{8L * n};
            for (int t = 1; t <= 3; t++) {
                if (o == Optimizer.SGD) CpuOptimizers.sgd(p, g, s1, 0.01);
                else CpuOptimizers.adam(p, g, s1, s2, 0.01, t);
                gpu.optimizerStep(o, 0.01, 0, 4L * n, st, n, t);
            }
            float[] dev = readAll(total);
            double maxAbs = 0, maxRef = 0;
            for (int i = 0; i < cpu.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(cpu[i] - dev[i]));
                maxRef = Math.max(maxRef, Math.abs(cpu[i]));
            }
            double rel = maxAbs / Math.max(maxRef, 1e-12);
            report("optimizer " + o.name().toLowerCase(), "3 steps", maxAbs, rel, 0, maxAbs == 0,
                    "bit-identical to the CPU");
        }
    }

    private void codecs() {
        int n = 10_000 + 17;
        double density = 0.6;
        for (Codec codec : Codec.values()) {
            long enc = codec.encodedBytes(n, density);
            long srcOff = 0, encOff = (4L * n + 255) / 256 * 256, decOff = encOff + (enc + 255) / 256 * 256;
            long total = decOff + 4L * n;
            float[] cpu = new float[(int) (total / 4)];
            Random r = new Random(SEED);
            for (int i = 0; i < cpu.length; i++) cpu[i] = (float) r.nextGaussian();
            for (int i = 0; i < n; i++) {   // ReLU-like: half zeros, a -0.0, a tie for rounding, big values
                if (cpu[i] < 0) cpu[i] = 0f;
            }
            cpu[3] = -0.0f;
            cpu[5] = 1.0009765625f + 0.00048828125f;   // halfway between two fp16 values
            cpu[7] = 1e6f;
            cpu[9] = 1e-8f;
            gpu.allocateArena(total);
            gpu.write(0, cpu, 0, cpu.length);
            Buf src = new Buf(cpu, 0, Shape.of(n), DType.FP32);
            Buf e = new Buf(cpu, (int) (encOff / 4), Shape.of((int) (enc / 4)), DType.FP32);
            Buf d = new Buf(cpu, (int) (decOff / 4), Shape.of(n), DType.FP32);
            Codecs.encode(codec, src, e, density, "check");
            Codecs.decode(codec, e, d, density);
            gpu.encode(codec, srcOff, encOff, n, density, "check");
            gpu.decode(codec, encOff, decOff, n, density);
            gpu.synchronize();
            float[] dev = readAll(total);
            long encWords = enc / 4;
            if (codec == Codec.SPARSE) {   // bitmap + the values actually written
                int nnz = 0;
                for (int i = 0; i < n; i++) if (Float.floatToRawIntBits(cpu[i]) != 0) nnz++;
                encWords = Codecs.maskBytes(n) / 4 + nnz;
            }
            long diffEnc = 0, diffDec = 0;
            for (int i = 0; i < encWords; i++)
                if (Float.floatToRawIntBits(cpu[(int) (encOff / 4)
                        + i]) != Float.floatToRawIntBits(dev[(int) (encOff / 4) + i])) diffEnc++;
            for (int i = 0; i < n; i++)
                if (Float.floatToRawIntBits(cpu[(int) (decOff / 4)
                        + i]) != Float.floatToRawIntBits(dev[(int) (decOff / 4) + i])) diffDec++;
            report("codec " + codec.jsonName(), "bits", diffEnc + diffDec, 0, 0, diffEnc == 0 && diffDec == 0,
                    diffEnc + " encoded words and " + diffDec + " decoded values differ");
        }
    }
}

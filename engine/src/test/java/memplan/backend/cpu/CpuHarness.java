package memplan.backend.cpu;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.BackwardNeeds;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ir.Shape;
import memplan.ops.Input;
import memplan.ops.Op;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Test support: builds a one-op graph, places every tensor in one arena (with sentinel-filled gaps that must stay
 * untouched), runs kernels, and checks backward against central finite differences.
 * <p>
 * Gradient check: L = sum_k sum_i r_k[i] * out_k[i] (r random, fixed seed; for a scalar loss output with
 * gradOut = null, L = out). The numeric derivative (L(x + eps) - L(x - eps)) / (2 eps) uses eps = 1e-2 and sums
 * in double over float outputs; an analytic value a passes against the numeric n when
 * |a - n| <= ATOL + RTOL * |n| with ATOL = 2e-3 and RTOL = 2e-2.
 */
final class CpuHarness {
    static final double EPS = 1e-2, ATOL = 2e-3, RTOL = 2e-2;
    static final int GAP = 5;
    static final int SENTINEL = 0x7fc0dead;

    final Node node;
    final CpuKernel kernel;
    final Random rnd;
    private final float[] arena = new float[1 << 19];
    private int cursor = GAP;
    private final List<int[]> gaps = new ArrayList<>();
    Buf[] in, out, params, aux;
    Buf workspace;
    long seed = 42;

    CpuHarness(Op op, DType[] dtypes, Shape... inShapes) {
        this(node(op, dtypes, inShapes), 7, dtypes);
    }

    CpuHarness(Op op, Shape... inShapes) {
        this(op, null, inShapes);
    }

    CpuHarness(Node node, long seed) {
        this(node, seed, null);
    }

    /** dtypes: of the inputs (null entries, or null: fp32 where differentiable, else int64). */
    CpuHarness(Node node, long seed, DType[] dtypes) {
        this.node = node;
        this.kernel = CpuKernels.of(node.op());
        this.rnd = new Random(seed);
        Arrays.fill(arena, Float.intBitsToFloat(SENTINEL));
        in = new Buf[node.inShapes().size()];
        for (int i = 0; i < in.length; i++)
            in[i] = alloc(node.inShapes().get(i), dtypes != null && dtypes[i] != null ? dtypes[i] : inputDType(node, i));
        out = new Buf[node.outShapes().size()];
        for (int i = 0; i < out.length; i++) out[i] = alloc(node.outShapes().get(i), CheckedKernel.outputType(node.op(), i));
        var ps = node.op().params(node.inShapes());
        params = new Buf[ps.size()];
        for (int i = 0; i < params.length; i++) params[i] = alloc(ps.get(i).shape(), DType.FP32);
        var as = node.op().aux(node.inShapes(), node.outShapes());
        aux = new Buf[as.size()];
        for (int i = 0; i < aux.length; i++) aux[i] = alloc(as.get(i).shape(), as.get(i).dtype() == null ? DType.FP32 : as.get(i).dtype());
        long ws = Math.max(node.op().workspaceElements(node.inShapes(), node.outShapes()),
                node.op().backwardWorkspaceElements(node.inShapes(), node.outShapes()));
        workspace = ws > 0 ? alloc(Shape.of((int) ws), DType.FP32) : null;
        for (Buf b : in) if (b.dtype() == DType.FP32) randomize(b, 1f);
        for (Buf b : params) randomize(b, 0.5f);
        var pspecs = node.op().params(node.inShapes());
        for (int i = 0; i < params.length; i++)
            if (pspecs.get(i).name().equals("running_var")) params[i].fill(1f);
    }

    static DType inputDType(Node node, int i) {
        return node.op().differentiable(i) || node.op().type().equals("MseLoss") ? DType.FP32 : DType.INT64;
    }

    /** A graph of Inputs feeding one layer "op"; returns that layer's node. */
    static Node node(Op op, DType[] dtypes, Shape... inShapes) {
        var b = ModelDef.builder("test");
        String[] names = new String[inShapes.length];
        for (int i = 0; i < inShapes.length; i++) {
            List<String> dims = new ArrayList<>();
            for (int d : inShapes[i].dims()) dims.add(Integer.toString(d));
            DType dt = dtypes != null ? dtypes[i] : op.integerInput(i) ? DType.INT64 : null; // indices and class targets are integers
            names[i] = b.add("in" + i, new Input(dims, dt));
        }
        b.add("op", op, names);
        Graph g = Graph.instantiate(b.build(), 1, DType.FP32);
        return g.node("op");
    }

    Buf alloc(Shape s, DType dt) {
        int slots = (int) Buf.slots(s.numel(), dt);
        int off = cursor;
        cursor += slots + GAP;
        if (cursor > arena.length) throw new IllegalStateException("test arena too small");
        gaps.add(new int[]{off + slots, GAP});
        Arrays.fill(arena, off, off + slots, 0f);
        return new Buf(arena, off, s, dt);
    }

    void checkSentinels() {
        for (int[] g : gaps)
            for (int i = g[0]; i < g[0] + g[1]; i++)
                if (Float.floatToRawIntBits(arena[i]) != SENTINEL)
                    fail(node.op().type() + ": a kernel wrote outside its tensors at arena slot " + i);
    }

    void randomize(Buf b, float scale) {
        for (int i = 0; i < b.numel(); i++) b.set(i, (rnd.nextFloat() * 2 - 1) * scale);
    }

    void forward(boolean training, boolean recompute) {
        kernel.forward(new ForwardArgs(node, in, out, params, aux, workspace, training, recompute, seed));
        checkSentinels();
    }

    void forward() {
        forward(true, false);
    }

    /** Weights of the scalar test loss, one per output element. */
    float[][] lossWeights() {
        float[][] r = new float[out.length][];
        Random w = new Random(99);
        for (int k = 0; k < out.length; k++) {
            r[k] = new float[out[k].numel()];
            for (int i = 0; i < r[k].length; i++) r[k][i] = w.nextFloat() * 2 - 1;
        }
        return r;
    }

    double loss(float[][] r) {
        double l = 0;
        for (int k = 0; k < out.length; k++) for (int i = 0; i < r[k].length; i++) l += (double) r[k][i] * out[k].get(i);
        return l;
    }

    /** Backward with only the declared needs passed; returns {gradIn[], gradParams[]} Bufs (null where not wanted). */
    Buf[][] backward(Buf[] gradOut, Buf[] gradIn, Buf[] gradParams, boolean[] accIn, boolean[] accParams) {
        BackwardNeeds needs = node.op().backwardNeeds();
        Buf[] bin = new Buf[in.length], bout = new Buf[out.length];
        for (int i = 0; i < in.length; i++) if (needs.inputs().contains(i)) bin[i] = standIn(i);
        for (int i = 0; i < out.length; i++) if (needs.outputs().contains(i)) bout[i] = out[i];
        Buf[] bp = needs.params() ? params : new Buf[params.length];
        Buf[] ba = needs.aux() ? aux : new Buf[aux.length];
        kernel.backward(new BackwardArgs(node, bin, bout, bp, ba, gradOut, gradIn, gradParams, accIn, accParams, workspace));
        checkSentinels();
        return new Buf[][]{gradIn, gradParams};
    }

    /** What backward gets for input i; MaxPool gets a zero stand-in to prove it never reads the input's values. */
    Buf standIn(int i) {
        if (node.op().type().equals("MaxPool2d")) return alloc(in[i].shape(), DType.FP32);
        return in[i];
    }

    boolean wantsGrad(int input) {
        return node.op().differentiable(input) && in[input].dtype() == DType.FP32;
    }

    /**
     * Full gradient check of inputs and trainable params, then the accumulate=true check. Checks at most
     * {@code maxPerTensor} elements of each tensor (chosen at random).
     */
    void gradCheck(int maxPerTensor) {
        gradCheck(maxPerTensor, true);
    }

    void gradCheck(int maxPerTensor, boolean gradOutGiven) {
        forward();
        float[][] r = lossWeights();
        Buf[] gradOut = new Buf[out.length];
        if (gradOutGiven) {
            for (int k = 0; k < out.length; k++) {
                gradOut[k] = alloc(out[k].shape(), DType.FP32);
                for (int i = 0; i < r[k].length; i++) gradOut[k].set(i, r[k][i]);
            }
        } else {
            for (float[] rk : r) Arrays.fill(rk, 1f);
        }
        var pspecs = node.op().params(node.inShapes());
        Buf[] gIn = new Buf[in.length], gP = new Buf[params.length];
        for (int i = 0; i < in.length; i++) if (wantsGrad(i)) gIn[i] = garbage(alloc(in[i].shape(), DType.FP32));
        for (int p = 0; p < params.length; p++) if (pspecs.get(p).trainable()) gP[p] = garbage(alloc(params[p].shape(), DType.FP32));
        backward(gradOut, gIn, gP, new boolean[in.length], new boolean[params.length]);
        float[][] aIn = new float[in.length][], aP = new float[params.length][];
        for (int i = 0; i < in.length; i++) if (gIn[i] != null) aIn[i] = gIn[i].toArray();
        for (int p = 0; p < params.length; p++) if (gP[p] != null) aP[p] = gP[p].toArray();

        for (int i = 0; i < in.length; i++) if (aIn[i] != null) compare("input " + i, in[i], aIn[i], r, maxPerTensor);
        for (int p = 0; p < params.length; p++) if (aP[p] != null) compare("param " + pspecs.get(p).name(), params[p], aP[p], r, maxPerTensor);

        // accumulate = true adds into what is there
        float[][] before = new float[in.length + params.length][];
        boolean[] accIn = new boolean[in.length], accP = new boolean[params.length];
        Arrays.fill(accIn, true);
        Arrays.fill(accP, true);
        for (int i = 0; i < in.length; i++) if (gIn[i] != null) { randomize(gIn[i], 1f); before[i] = gIn[i].toArray(); }
        for (int p = 0; p < params.length; p++) if (gP[p] != null) { randomize(gP[p], 1f); before[in.length + p] = gP[p].toArray(); }
        forward(true, true);
        backward(gradOut, gIn, gP, accIn, accP);
        for (int i = 0; i < in.length; i++) if (gIn[i] != null) assertAdded("input " + i, before[i], aIn[i], gIn[i]);
        for (int p = 0; p < params.length; p++) if (gP[p] != null) assertAdded("param " + p, before[in.length + p], aP[p], gP[p]);
    }

    private Buf garbage(Buf b) {
        b.fill(Float.NaN);
        return b;
    }

    private void assertAdded(String what, float[] before, float[] grad, Buf now) {
        for (int i = 0; i < before.length; i++) {
            float expect = before[i] + grad[i];
            assertEquals(expect, now.get(i), 1e-5f * (1 + Math.abs(expect)),
                    node.op().type() + " " + what + "[" + i + "]: accumulate=true must add the gradient");
        }
    }

    private void compare(String what, Buf t, float[] analytic, float[][] r, int max) {
        int n = t.numel();
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        Random pick = new Random(5);
        for (int i = n - 1; i > 0; i--) {
            int j = pick.nextInt(i + 1), tmp = idx[i];
            idx[i] = idx[j];
            idx[j] = tmp;
        }
        for (int c = 0; c < Math.min(n, max); c++) {
            int i = idx[c];
            assertTrue(Float.isFinite(analytic[i]), node.op().type() + " " + what + "[" + i + "] is not finite: " + analytic[i]);
            float x0 = t.get(i);
            t.set(i, (float) (x0 + EPS));
            forward(true, true);
            double lp = loss(r);
            t.set(i, (float) (x0 - EPS));
            forward(true, true);
            double lm = loss(r);
            t.set(i, x0);
            double num = (lp - lm) / (2 * EPS);
            double err = Math.abs(analytic[i] - num);
            assertTrue(err <= ATOL + RTOL * Math.abs(num), String.format("%s %s[%d]: analytic %.6f vs numeric %.6f",
                    node.op().type(), what, i, analytic[i], num));
        }
        forward(true, true);
    }
}

package memplan.exec;

import memplan.graph.Graph;
import memplan.graph.Value;
import memplan.graph.ValueKind;
import memplan.ops.ConstElementwise;
import memplan.ops.MaskedFill;
import memplan.ops.Op;
import memplan.train.LoraConfig;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Seeded initial parameters, as PyTorch's defaults roughly do: weights uniform in +-1/sqrt(fan_in), biases zero,
 * normalisation scales one; BatchNorm running variance one and running mean zero. Imported ONNX constants (whose
 * values are never read from the file) start neutral: a ConstElementwise "const" of mul, div or pow is one (no
 * division by zero), and a MaskedFill "mask" buffer is causal over its last two axes when they are square
 * (row i keeps columns 0..i, as GPT-2's mask), else keeps everything.
 */
public final class WeightInit {
    private WeightInit() {
    }

    public static float[] initial(Graph g, Value v, long seed) {
        int n = (int) v.shape().numel();
        float[] w = new float[n];
        String name = v.name();
        String param = name.substring(name.lastIndexOf('.') + 1);
        Op owner = owner(g, v);
        if (owner instanceof ConstElementwise c && param.equals("const") && !c.fn().equals("add")
                && !c.fn().equals("sub")) {
            Arrays.fill(w, 1f);
            return w;
        }
        if (owner instanceof MaskedFill m && param.equals("mask")) {
            var s = v.shape();
            int r = s.rank(), rows = r >= 2 ? s.dim(r - 2) : 1, cols = r >= 1 ? s.dim(r - 1) : 1;
            boolean causal = r >= 2 && rows == cols;
            for (int i = 0; i < n; i++) {
                boolean keep = !causal || (i % cols) <= (i / cols) % rows;
                w[i] = keep == m.keepWhereTrue() ? 1f : 0f;
            }
            return w;
        }
        // peft starts LoRA's B at zero, so the adapted model begins as the base model
        if (name.endsWith("." + LoraConfig.ADAPTER_B + ".weight")) return w;
        if (v.kind() == ValueKind.BUFFER) {
            if (param.equals("running_var")) Arrays.fill(w, 1f);
            return w;
        }
        if (v.shape().rank() <= 1) {
            if (param.equals("weight")) Arrays.fill(w, 1f); // BatchNorm / LayerNorm scale
            return w;
        }
        long fanIn = v.shape().numel() / v.shape().dim(0);
        double bound = 1.0 / Math.sqrt(Math.max(1, fanIn));
        SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (v.id() + 1)));
        for (int i = 0; i < n; i++) w[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        return w;
    }

    /** The op of the node that owns a parameter value, or null. */
    private static Op owner(Graph g, Value v) {
        if (v.kind() != ValueKind.PARAM && v.kind() != ValueKind.BUFFER) return null;
        for (var node : g.nodes()) for (int p : node.params()) if (p == v.id()) return node.op();
        return null;
    }
}

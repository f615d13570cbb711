package memplan.exec;

import memplan.graph.Graph;
import memplan.graph.Value;
import memplan.graph.ValueKind;

import java.util.SplittableRandom;

/**
 * Seeded initial parameters, as PyTorch's defaults roughly do: weights uniform in +-1/sqrt(fan_in), biases zero,
 * normalisation scales one; BatchNorm running variance one and running mean zero.
 */
public final class WeightInit {
    private WeightInit() {
    }

    public static float[] initial(Graph g, Value v, long seed) {
        int n = (int) v.shape().numel();
        float[] w = new float[n];
        String name = v.name();
        String param = name.substring(name.lastIndexOf('.') + 1);
        if (v.kind() == ValueKind.BUFFER) {
            if (param.equals("running_var")) java.util.Arrays.fill(w, 1f);
            return w;
        }
        if (v.shape().rank() <= 1) {
            if (param.equals("weight")) java.util.Arrays.fill(w, 1f); // BatchNorm / LayerNorm scale
            return w;
        }
        long fanIn = v.shape().numel() / v.shape().dim(0);
        double bound = 1.0 / Math.sqrt(Math.max(1, fanIn));
        SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (v.id() + 1)));
        for (int i = 0; i < n; i++) w[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        return w;
    }
}

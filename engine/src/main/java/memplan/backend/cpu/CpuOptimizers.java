package memplan.backend.cpu;

import memplan.train.Optimizer;

/**
 * Optimizer updates over Bufs, with PyTorch's formulas, elementwise and in parallel (each element's result does
 * not depend on the thread count). Computed in float as PyTorch's fp32 kernels do.
 */
public final class CpuOptimizers {
    public static final float SGD_MOMENTUM = 0.9f;
    public static final double ADAM_BETA1 = 0.9, ADAM_BETA2 = 0.999, ADAM_EPS = 1e-8;

    private CpuOptimizers() {
    }

    /**
     * One update as {@link memplan.backend.Backend#optimizerStep} asks: SGD uses states[0] (momentum buffer),
     * Adam states[0] (exp_avg) and states[1] (exp_avg_sq); t is the 1-based step.
     */
    public static void step(Optimizer optimizer, double lr, Buf param, Buf grad, Buf[] states, int t) {
        if (states == null || states.length < optimizer.statesPerParam)
            throw new IllegalArgumentException(optimizer + " needs " + optimizer.statesPerParam
                    + " state tensors per parameter");
        switch (optimizer) {
            case SGD -> sgd(param, grad, states[0], lr);
            case ADAM -> adam(param, grad, states[0], states[1], lr, t);
        }
    }

    /** SGD with momentum 0.9: buf = 0.9 buf + g; p -= lr buf (buf starts at zero, so step 1 gives buf = g). */
    public static void sgd(Buf param, Buf grad, Buf momentum, double lr) {
        sgd(param, grad, momentum, lr, SGD_MOMENTUM, 0.0);
    }

    /** SGD (PyTorch torch.optim.SGD, dampening 0, not Nesterov): g += wd p; buf = m buf + g; p -= lr buf. */
    public static void sgd(Buf param, Buf grad, Buf momentum, double lr, float m, double weightDecay) {
        check(param, grad, momentum, null);
        float lrf = (float) lr, wd = (float) weightDecay;
        float[] p = param.data(), g = grad.data(), b = momentum.data();
        int po = param.offset(), go = grad.offset(), bo = momentum.offset();
        Par.range(param.numel(), K.GRAIN, (s, e) -> {
            for (int i = s; i < e; i++) {
                float gi = g[go + i];
                if (wd != 0f) gi += wd * p[po + i];
                float v = m * b[bo + i] + gi;
                b[bo + i] = v;
                p[po + i] -= lrf * v;
            }
        });
    }

    /** Adam with betas (0.9, 0.999) and eps 1e-8 at step t (1-based). */
    public static void adam(Buf param, Buf grad, Buf expAvg, Buf expAvgSq, double lr, int t) {
        adam(param, grad, expAvg, expAvgSq, lr, ADAM_BETA1, ADAM_BETA2, ADAM_EPS, 0.0, t);
    }

    /**
     * Adam (PyTorch torch.optim.Adam, not AMSGrad): g += wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     * p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps).
     */
    public static void adam(Buf param, Buf grad, Buf expAvg, Buf expAvgSq, double lr, double beta1,
            double beta2, double eps,
                            double weightDecay, int t) {
        if (t < 1) throw new IllegalArgumentException("Adam step t is 1-based, got " + t);
        check(param, grad, expAvg, expAvgSq);
        double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
        // scalars are computed in double and used as floats, as PyTorch passes Python floats to fp32 kernels
        float stepSize = (float) (lr / bc1), bc2Sqrt = (float) Math.sqrt(bc2), wd = (float) weightDecay;
        float b1 = (float) beta1, b2 = (float) beta2, omb1 = (float) (1 - beta1),
                omb2 = (float) (1 - beta2), ep = (float) eps;
        float[] p = param.data(), g = grad.data(), m = expAvg.data(), v = expAvgSq.data();
        int po = param.offset(), go = grad.offset(), mo = expAvg.offset(), vo = expAvgSq.offset();
        Par.range(param.numel(), K.GRAIN, (s, e) -> {
            for (int i = s; i < e; i++) {
                float gi = g[go + i];
                if (wd != 0f) gi += wd * p[po + i];
                float mi = b1 * m[mo + i] + omb1 * gi;
                float vi = b2 * v[vo + i] + omb2 * gi * gi;
                m[mo + i] = mi;
                v[vo + i] = vi;
                float denom = (float) Math.sqrt(vi) / bc2Sqrt + ep;
                p[po + i] -= stepSize * (mi / denom);
            }
        });
    }

    private static void check(Buf p, Buf g, Buf s1, Buf s2) {
        for (Buf b : new Buf[]{p, g, s1, s2}) {
            if (b == null) continue;
            b.requireFloat("optimizer");
            if (b.numel() != p.numel())
                throw new IllegalArgumentException("optimizer: tensors differ in size: "
                        + p.shape() + " and " + b.shape());
        }
    }
}

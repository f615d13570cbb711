// Optimizer steps (PyTorch formulas, no weight decay, no dampening, no Nesterov).
#include "common.cuh"

// SGD with momentum: buf = momentum * buf + g; p -= lr * buf. (buf starts at zero, so step 1 gives buf = g.)
extern "C" __global__ void sgd_step(float* p, const float* g, float* buf, long long n, float lr, float momentum) {
    GRID_LOOP(i, n) {
        float b = momentum * buf[i] + g[i];
        buf[i] = b;
        p[i] -= lr * b;
    }
}

// Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),
// with bc1 = 1 - b1^t and bc2 = 1 - b2^t computed on the host.
extern "C" __global__ void adam_step(float* p, const float* g, float* m, float* v, long long n, float lr, float b1,
                                     float b2, float eps, float bc1, float bc2sqrt) {
    float stepSize = lr / bc1;
    GRID_LOOP(i, n) {
        float gi = g[i];
        float mi = b1 * m[i] + (1.f - b1) * gi;
        float vi = b2 * v[i] + (1.f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= stepSize * mi / (sqrtf(vi) / bc2sqrt + eps);
    }
}

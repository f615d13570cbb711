// Optimizer steps: the formulas and float rounding of the CPU kernels (memplan.backend.cpu.CpuOptimizers), which
// follow PyTorch (no weight decay, no dampening, no Nesterov). The _rn intrinsics keep nvcc from fusing multiply
// and add, so each step rounds as the CPU's does.
#include "common.cuh"

// SGD with momentum: buf = momentum * buf + g; p -= lr * buf. (buf starts at zero, so step 1 gives buf = g.)
extern "C" __global__ void sgd_step(float* p, const float* g, float* buf, long long n, float lr, float momentum) {
    GRID_LOOP(i, n) {
        float b = __fadd_rn(__fmul_rn(momentum, buf[i]), g[i]);
        buf[i] = b;
        p[i] = __fsub_rn(p[i], __fmul_rn(lr, b));
    }
}

// Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= stepSize * (m / (sqrt(v) / bc2sqrt + eps)), with
// stepSize = lr / (1 - b1^t), bc2sqrt = sqrt(1 - b2^t), omb1 = 1 - b1 and omb2 = 1 - b2 computed on the host in double.
extern "C" __global__ void adam_step(float* p, const float* g, float* m, float* v, long long n, float stepSize, float b1,
                                     float b2, float omb1, float omb2, float eps, float bc2sqrt) {
    GRID_LOOP(i, n) {
        float gi = g[i];
        float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(omb1, gi));
        float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(omb2, gi), gi));
        m[i] = mi;
        v[i] = vi;
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2sqrt), eps);
        p[i] = __fsub_rn(p[i], __fmul_rn(stepSize, __fdiv_rn(mi, denom)));
    }
}

// Softmax over the last axis, CrossEntropy (log_softmax + mean nll) and MseLoss.
#include "common.cuh"

// One block per row of D elements.
extern "C" __global__ void softmax_fwd(const float* x, float* y, int D) {
    long long r = blockIdx.x;
    const float* xr = x + r * D;
    float* yr = y + r * D;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < D; i += blockDim.x) m = fmaxf(m, xr[i]);
    m = block_max(m);
    float s = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) s += expf(xr[i] - m);
    float inv = 1.f / block_sum(s);
    for (int i = threadIdx.x; i < D; i += blockDim.x) yr[i] = expf(xr[i] - m) * inv;
}

// gx = y * (gy - sum(gy * y)).
extern "C" __global__ void softmax_bwd(const float* y, const float* gy, float* gx, int D, int acc) {
    long long r = blockIdx.x;
    const float* yr = y + r * D;
    const float* gr = gy + r * D;
    float s = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) s += yr[i] * gr[i];
    s = block_sum(s);
    for (int i = threadIdx.x; i < D; i += blockDim.x) store_acc(gx + r * D + i, yr[i] * (gr[i] - s), acc);
}

// Logits viewed as [outer, C, inner]; a row is one (outer, inner) pair. One block per row writes the row's
// log-softmax into logsm (same layout as the logits).
extern "C" __global__ void ce_logsoftmax(const float* x, float* logsm, int C, int inner) {
    long long r = blockIdx.x;
    long long o = r / inner, in = r % inner;
    const float* xr = x + o * C * inner + in;
    float* lr = logsm + o * C * inner + in;
    float m = -INFINITY;
    for (int c = threadIdx.x; c < C; c += blockDim.x) m = fmaxf(m, xr[(long long)c * inner]);
    m = block_max(m);
    float s = 0.f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) s += expf(xr[(long long)c * inner] - m);
    float lse = m + logf(block_sum(s));
    for (int c = threadIdx.x; c < C; c += blockDim.x) lr[(long long)c * inner] = xr[(long long)c * inner] - lse;
}

// loss = -(1 / rows) * sum over rows of logsm[target]; a single block (deterministic). Targets outside [0, C)
// contribute 0 (but still count in the mean).
extern "C" __global__ void ce_loss(const float* logsm, const void* target, float* out, long long rows, int C, int inner,
                                   int i64) {
    double s = 0.0;
    for (long long r = threadIdx.x; r < rows; r += blockDim.x) {
        long long t = load_index(target, r, i64);
        if (t >= 0 && t < C) s += logsm[((r / inner) * C + t) * inner + r % inner];
    }
    s = block_sum_d(s);
    if (threadIdx.x == 0) out[0] = (float)(-s / (double)rows);
}

// gx (+)= gy / rows * (softmax - onehot(target)); gy may be null (a loss gradient of 1).
extern "C" __global__ void ce_bwd(const float* logsm, const void* target, const float* gy, float* gx, long long n,
                                  int C, int inner, long long rows, int i64, int acc) {
    float scale = (gy ? gy[0] : 1.f) / (float)rows;
    GRID_LOOP(e, n) {
        long long in = e % inner;
        long long t2 = e / inner;
        int c = (int)(t2 % C);
        long long o = t2 / C;
        long long t = load_index(target, o * inner + in, i64);
        float g = expf(logsm[e]) - (t == c ? 1.f : 0.f);
        store_acc(gx + e, scale * g, acc);
    }
}

// loss = mean((x - t)^2); a single block.
extern "C" __global__ void mse_fwd(const float* x, const float* t, float* out, long long n) {
    double s = 0.0;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) { double d = (double)x[i] - t[i]; s += d * d; }
    s = block_sum_d(s);
    if (threadIdx.x == 0) out[0] = (float)(s / (double)n);
}

extern "C" __global__ void mse_bwd(const float* x, const float* t, const float* gy, float* gx, long long n, int acc) {
    float scale = 2.f * (gy ? gy[0] : 1.f) / (float)n;
    GRID_LOOP(i, n) store_acc(gx + i, scale * (x[i] - t[i]), acc);
}

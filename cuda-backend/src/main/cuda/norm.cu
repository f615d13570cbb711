// BatchNorm2d (training and eval) and LayerNorm, forward and backward.
#include "common.cuh"

// Training-mode batch norm, one block per channel. Writes aux mean / invstd (biased variance, as PyTorch normalises)
// and, when update != 0, the running statistics (unbiased variance, as PyTorch keeps them).
extern "C" __global__ void bn_fwd_train(const float* x, float* y, const float* w, const float* b, float* rmean,
                                        float* rvar, float* amean, float* ainvstd, int N, int C, int HW, float eps,
                                        float momentum, int update) {
    int c = blockIdx.x;
    long long M = (long long)N * HW;
    double s = 0.0;
    for (long long j = threadIdx.x; j < M; j += blockDim.x) s += x[((j / HW) * C + c) * HW + j % HW];
    float mean = (float)(block_sum_d(s) / (double)M);
    double s2 = 0.0;
    for (long long j = threadIdx.x; j < M; j += blockDim.x) {
        float d = x[((j / HW) * C + c) * HW + j % HW] - mean;
        s2 += (double)d * d;
    }
    double var = block_sum_d(s2) / (double)M;
    float invstd = (float)(1.0 / sqrt(var + (double)eps));
    float g = w[c], bb = b[c];
    for (long long j = threadIdx.x; j < M; j += blockDim.x) {
        long long k = ((j / HW) * C + c) * HW + j % HW;
        y[k] = (x[k] - mean) * invstd * g + bb;
    }
    if (threadIdx.x == 0) {
        if (amean) amean[c] = mean;
        if (ainvstd) ainvstd[c] = invstd;
        if (update) {
            double unbiased = M > 1 ? var * (double)M / (double)(M - 1) : var;
            rmean[c] = (1.f - momentum) * rmean[c] + momentum * mean;
            rvar[c] = (float)((1.0 - momentum) * rvar[c] + momentum * unbiased);
        }
    }
}

extern "C" __global__ void bn_fwd_eval(const float* x, float* y, const float* w, const float* b, const float* rmean,
                                       const float* rvar, long long n, int C, int HW, float eps) {
    GRID_LOOP(i, n) {
        int c = (int)((i / HW) % C);
        y[i] = (x[i] - rmean[c]) * rsqrtf(rvar[c] + eps) * w[c] + b[c];
    }
}

// gw = sum gy * xhat, gb = sum gy, gx = w * invstd * (gy - gb / M - xhat * gw / M). Null pointers are skipped.
extern "C" __global__ void bn_bwd(const float* x, const float* gy, const float* w, const float* amean,
                                  const float* ainvstd, float* gx, float* gw, float* gb, int N, int C, int HW,
                                  int accX, int accW, int accB) {
    int c = blockIdx.x;
    long long M = (long long)N * HW;
    float mean = amean[c], invstd = ainvstd[c];
    double s1 = 0.0, s2 = 0.0;
    for (long long j = threadIdx.x; j < M; j += blockDim.x) {
        long long k = ((j / HW) * C + c) * HW + j % HW;
        float g = gy[k];
        s1 += g;
        s2 += (double)g * ((x[k] - mean) * invstd);
    }
    float sumg = (float)block_sum_d(s1);
    float sumgx = (float)block_sum_d(s2);
    if (threadIdx.x == 0) {
        if (gw) store_acc(gw + c, sumgx, accW);
        if (gb) store_acc(gb + c, sumg, accB);
    }
    if (!gx) return;
    float k1 = w[c] * invstd, mg = sumg / (float)M, mgx = sumgx / (float)M;
    for (long long j = threadIdx.x; j < M; j += blockDim.x) {
        long long k = ((j / HW) * C + c) * HW + j % HW;
        float xhat = (x[k] - mean) * invstd;
        store_acc(gx + k, k1 * (gy[k] - mg - xhat * mgx), accX);
    }
}

// Layer norm over the last dimension D, one block per row.
extern "C" __global__ void ln_fwd(const float* x, float* y, const float* w, const float* b, float* amean,
                                  float* arstd, int D, float eps) {
    long long r = blockIdx.x;
    const float* xr = x + r * D;
    float* yr = y + r * D;
    float s = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) s += xr[i];
    float mean = block_sum(s) / (float)D;
    float s2 = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) { float d = xr[i] - mean; s2 += d * d; }
    float rstd = rsqrtf(block_sum(s2) / (float)D + eps);
    for (int i = threadIdx.x; i < D; i += blockDim.x) yr[i] = (xr[i] - mean) * rstd * w[i] + b[i];
    if (threadIdx.x == 0) {
        if (amean) amean[r] = mean;
        if (arstd) arstd[r] = rstd;
    }
}

// gx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = gy * w; one block per row.
extern "C" __global__ void ln_bwd_x(const float* x, const float* gy, const float* w, const float* amean,
                                    const float* arstd, float* gx, int D, int acc) {
    long long r = blockIdx.x;
    const float* xr = x + r * D;
    const float* gr = gy + r * D;
    float mean = amean[r], rstd = arstd[r];
    float s1 = 0.f, s2 = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
        float g = gr[i] * w[i];
        s1 += g;
        s2 += g * (xr[i] - mean) * rstd;
    }
    float m1 = block_sum(s1) / (float)D;
    float m2 = block_sum(s2) / (float)D;
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
        float xhat = (xr[i] - mean) * rstd;
        store_acc(gx + r * D + i, rstd * (gr[i] * w[i] - m1 - xhat * m2), acc);
    }
}

// gw[d] (+)= sum_r gy * xhat, gb[d] (+)= sum_r gy. Block (32, 8) per 32 columns.
extern "C" __global__ void ln_bwd_params(const float* x, const float* gy, const float* amean, const float* arstd,
                                         float* gw, float* gb, long long rows, int D, int accW, int accB) {
    __shared__ float sw[8][33];
    __shared__ float sb[8][33];
    int d = blockIdx.x * 32 + threadIdx.x;
    float a = 0.f, b = 0.f;
    if (d < D)
        for (long long r = threadIdx.y; r < rows; r += 8) {
            float g = gy[r * D + d];
            a += g * (x[r * D + d] - amean[r]) * arstd[r];
            b += g;
        }
    sw[threadIdx.y][threadIdx.x] = a;
    sb[threadIdx.y][threadIdx.x] = b;
    __syncthreads();
    if (threadIdx.y == 0 && d < D) {
        float ta = 0.f, tb = 0.f;
        #pragma unroll
        for (int k = 0; k < 8; k++) { ta += sw[k][threadIdx.x]; tb += sb[k][threadIdx.x]; }
        if (gw) store_acc(gw + d, ta, accW);
        if (gb) store_acc(gb + d, tb, accB);
    }
}

// RMSNorm over the last dimension D, one block per row: y = x * rstd * w, rstd = rsqrt(mean(x^2) + eps).
// aux: rstd [rows], xhat = x * rstd and x^2 (PyTorch keeps it; no backward reads it); each may be null.
extern "C" __global__ void rms_fwd(const float* x, float* y, const float* w, float* arstd, float* axhat, float* asq,
                                   int D, float eps) {
    long long r = blockIdx.x;
    const float* xr = x + r * D;
    float s = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
        float x2 = xr[i] * xr[i];
        if (asq) asq[r * D + i] = x2;
        s += x2;
    }
    float rstd = rsqrtf(block_sum(s) / (float)D + eps);
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
        float h = xr[i] * rstd;
        if (axhat) axhat[r * D + i] = h;
        y[r * D + i] = h * w[i];
    }
    if (threadIdx.x == 0 && arstd) arstd[r] = rstd;
}

// gx = rstd * (g - xhat * mean(g * xhat)) with g = gy * w; one block per row. A frozen weight keeps no xhat
// (axhat null): x * rstd again, the forward's product.
extern "C" __global__ void rms_bwd_x(const float* gy, const float* w, const float* arstd, const float* axhat,
                                     const float* x, float* gx, int D, int acc) {
    long long r = blockIdx.x;
    const float* gr = gy + r * D;
    const float* hr = axhat ? axhat + r * D : 0;
    const float* xr = x + r * D;
    float rstd = arstd[r];
    float s = 0.f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) s += gr[i] * w[i] * (hr ? hr[i] : xr[i] * rstd);
    float m = block_sum(s) / (float)D;
    for (int i = threadIdx.x; i < D; i += blockDim.x)
        store_acc(gx + r * D + i, rstd * (gr[i] * w[i] - (hr ? hr[i] : xr[i] * rstd) * m), acc);
}

// gw[d] (+)= sum_r gy * xhat. Block (32, 8) per 32 columns.
extern "C" __global__ void rms_bwd_w(const float* gy, const float* axhat, float* gw, long long rows, int D, int acc) {
    __shared__ float sw[8][33];
    int d = blockIdx.x * 32 + threadIdx.x;
    float a = 0.f;
    if (d < D)
        for (long long r = threadIdx.y; r < rows; r += 8) a += gy[r * D + d] * axhat[r * D + d];
    sw[threadIdx.y][threadIdx.x] = a;
    __syncthreads();
    if (threadIdx.y == 0 && d < D) {
        float t = 0.f;
        #pragma unroll
        for (int k = 0; k < 8; k++) t += sw[k][threadIdx.x];
        store_acc(gw + d, t, acc);
    }
}

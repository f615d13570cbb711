// Tiled single-precision GEMM for Linear, MatMul, Conv2d (after im2col), LSTMCell; plus bias helpers.
//   C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]      (row-major, b = blockIdx.z)
// op(A) is M x K (A stored K x M with leading dimension lda when transposed), op(B) is K x N (B stored N x K
// when transposed). beta == 0 never reads C, so C may hold garbage. 64x64 output tile per block of 256 threads,
// 4x4 outputs per thread, K in steps of 16 through shared memory.
#include "common.cuh"

#define BM 64
#define BN 64
#define BK 16

template <bool TA, bool TB>
__device__ __forceinline__ void sgemm_tile(int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
                                           long long sA, const float* __restrict__ B, int ldb, long long sB,
                                           float beta, float* C, int ldc, long long sC) {
    __shared__ float As[BK][BM + 4];
    __shared__ float Bs[BK][BN + 4];
    A += blockIdx.z * sA;
    B += blockIdx.z * sB;
    C += blockIdx.z * sC;
    const int tid = threadIdx.x;
    const int tx = tid & 15, ty = tid >> 4;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    float acc[4][4];
    #pragma unroll
    for (int i = 0; i < 4; i++)
        #pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.f;

    for (int k0 = 0; k0 < K; k0 += BK) {
        #pragma unroll
        for (int r = 0; r < (BM * BK) / 256; r++) {
            int e = tid + r * 256;
            int mm, kk;
            if (TA) { mm = e % BM; kk = e / BM; } else { kk = e % BK; mm = e / BK; }
            int gm = m0 + mm, gk = k0 + kk;
            float v = 0.f;
            if (gm < M && gk < K) v = TA ? A[(long long)gk * lda + gm] : A[(long long)gm * lda + gk];
            As[kk][mm] = v;
        }
        #pragma unroll
        for (int r = 0; r < (BN * BK) / 256; r++) {
            int e = tid + r * 256;
            int nn, kk;
            if (TB) { kk = e % BK; nn = e / BK; } else { nn = e % BN; kk = e / BN; }
            int gn = n0 + nn, gk = k0 + kk;
            float v = 0.f;
            if (gn < N && gk < K) v = TB ? B[(long long)gn * ldb + gk] : B[(long long)gk * ldb + gn];
            Bs[kk][nn] = v;
        }
        __syncthreads();
        #pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float a[4], b[4];
            #pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
            #pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
            #pragma unroll
            for (int i = 0; i < 4; i++)
                #pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
    #pragma unroll
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        #pragma unroll
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            float* c = C + (long long)m * ldc + n;
            float v = alpha * acc[i][j];
            *c = beta == 0.f ? v : v + beta * *c;
        }
    }
}

#define SGEMM_ENTRY(name, TA, TB)                                                                              \
    extern "C" __global__ void __launch_bounds__(256) name(int M, int N, int K, float alpha, const float* A,   \
            int lda, long long sA, const float* B, int ldb, long long sB, float beta, float* C, int ldc,       \
            long long sC) {                                                                                    \
        sgemm_tile<TA, TB>(M, N, K, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC);                           \
    }

SGEMM_ENTRY(sgemm_nn, false, false)
SGEMM_ENTRY(sgemm_nt, false, true)
SGEMM_ENTRY(sgemm_tn, true, false)
SGEMM_ENTRY(sgemm_tt, true, true)

// y[r, c] += b[c] over a rows x cols matrix.
extern "C" __global__ void add_bias_rows(float* y, const float* b, long long n, int cols) {
    GRID_LOOP(i, n) y[i] += b[i % cols];
}

// y[n, c, hw] += b[c] over an NCHW tensor of n elements.
extern "C" __global__ void add_bias_nchw(float* y, const float* b, long long n, int C, int HW) {
    GRID_LOOP(i, n) y[i] += b[(i / HW) % C];
}

// out[c] (+)= sum over rows of x[r, c]. Block (32, 8) covers 32 columns; grid.x = ceil(cols / 32).
extern "C" __global__ void colsum(const float* x, float* out, long long rows, int cols, int acc) {
    __shared__ float sh[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float s = 0.f;
    if (c < cols)
        for (long long r = threadIdx.y; r < rows; r += 8) s += x[r * cols + c];
    sh[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        float t = 0.f;
        #pragma unroll
        for (int k = 0; k < 8; k++) t += sh[k][threadIdx.x];
        store_acc(out + c, t, acc);
    }
}

// gb[c] (+)= sum over n and hw of gy[n, c, hw]; one block per channel.
extern "C" __global__ void bias_grad_nchw(const float* gy, float* gb, int N, int C, int HW, int acc) {
    int c = blockIdx.x;
    long long M = (long long)N * HW;
    float s = 0.f;
    for (long long j = threadIdx.x; j < M; j += blockDim.x) {
        long long n = j / HW, i = j % HW;
        s += gy[(n * C + c) * HW + i];
    }
    s = block_sum(s);
    if (threadIdx.x == 0) store_acc(gb + c, s, acc);
}

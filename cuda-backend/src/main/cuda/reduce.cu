// Reductions: ReduceMean. Shapes arrive collapsed to at most 6 dims d0..d5 of the input (unused leading ones are
// 1); bit k of `reduced` says whether dim k (of the 6) is averaged. One thread per output element sums its inputs
// in increasing index order in double, as the CPU kernel (memplan.backend.cpu.ReduceKernels): deterministic.
#include "common.cuh"

extern "C" __global__ void reduce_mean_fwd(const float* x, float* y, long long n, long long count, int reduced,
                                           int d0, int d1, int d2, int d3, int d4, int d5) {
    const int d[6] = {d0, d1, d2, d3, d4, d5};
    long long xst[6];
    xst[5] = 1;
    for (int k = 4; k >= 0; k--) xst[k] = xst[k + 1] * d[k + 1];
    GRID_LOOP(o, n) {
        long long rem = o, base = 0;
        for (int k = 5; k >= 0; k--) {
            if (reduced >> k & 1) continue;
            base += (rem % d[k]) * xst[k];
            rem /= d[k];
        }
        double sum = 0.0;
        for (long long j = 0; j < count; j++) {
            long long r = j, off = 0;
            for (int k = 5; k >= 0; k--) {
                if (!(reduced >> k & 1)) continue;
                off += (r % d[k]) * xst[k];
                r /= d[k];
            }
            sum += x[base + off];
        }
        y[o] = (float)(sum / (double)count);
    }
}

// gx[i] (+)= gy[.] / count: gy's element stride along each of x's dims is s_k (0 on the averaged ones).
extern "C" __global__ void reduce_mean_bwd(const float* gy, float* gx, long long n, float count, int acc, int d0,
                                           int d1, int d2, int d3, int d4, int d5, long long s0, long long s1,
                                           long long s2, long long s3, long long s4, long long s5) {
    const int d[6] = {d0, d1, d2, d3, d4, d5};
    const long long s[6] = {s0, s1, s2, s3, s4, s5};
    GRID_LOOP(i, n) {
        long long t = i, off = 0;
        for (int k = 5; k >= 0; k--) {
            off += (t % d[k]) * s[k];
            t /= d[k];
        }
        store_acc(gx + i, gy[off] / count, acc);
    }
}

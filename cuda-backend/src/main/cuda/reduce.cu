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

// CumSum along one axis of x seen as [outer, len, inner]: one thread per line (outer * inner of them), a running
// sum in double in the direction of the sum, as the CPU kernel. Backward is the same kernel on the gradient with
// reverse flipped (acc adds into dst).
extern "C" __global__ void cumsum_scan(const float* src, float* dst, long long lines, int len, int inner,
                                       int exclusive, int reverse, int acc) {
    GRID_LOOP(line, lines) {
        long long base = line / inner * (long long)len * inner + line % inner;
        double sum = 0.0;
        for (int t = 0; t < len; t++) {
            long long j = base + (long long)(reverse ? len - 1 - t : t) * inner;
            double v = src[j];
            if (!exclusive) sum += v;
            store_acc(dst + j, (float)sum, acc);
            if (exclusive) sum += v;
        }
    }
}

// Whether (va, ia) comes before (vb, ib) in TopK's order: the better value, the lower index on a tie.
__device__ __forceinline__ bool topk_before(float va, int ia, float vb, int ib, int largest) {
    if (va != vb) return largest ? va > vb : va < vb;
    return ia < ib;
}

// TopK along one axis: one thread per line; slot t takes the first element after slot t-1's in TopK's order (no
// scratch), as the CPU kernel. Values go to y, indices (int64) to idx, both [outer, k, inner].
extern "C" __global__ void topk_fwd(const float* x, float* y, long long* idx, long long lines, int len, int inner,
                                    int k, int largest) {
    GRID_LOOP(line, lines) {
        long long base = line / inner * (long long)len * inner + line % inner;
        long long obase = line / inner * (long long)k * inner + line % inner;
        float pv = 0.f;
        int pi = -1;
        for (int t = 0; t < k; t++) {
            int best = -1;
            float bv = 0.f;
            for (int j = 0; j < len; j++) {
                float v = x[base + (long long)j * inner];
                if (pi >= 0 && !topk_before(pv, pi, v, j, largest)) continue;
                if (best < 0 || topk_before(v, j, bv, best, largest)) {
                    best = j;
                    bv = v;
                }
            }
            if (best < 0) best = pi;
            pv = x[base + (long long)best * inner];
            pi = best;
            y[obase + (long long)t * inner] = pv;
            idx[obase + (long long)t * inner] = best;
        }
    }
}

// gx (+)= gy scattered to the saved indices, zero elsewhere: one thread per line, slots in order, as the CPU.
extern "C" __global__ void topk_bwd(const float* gy, const long long* idx, float* gx, long long lines, int len,
                                    int inner, int k, int acc) {
    GRID_LOOP(line, lines) {
        long long base = line / inner * (long long)len * inner + line % inner;
        long long obase = line / inner * (long long)k * inner + line % inner;
        if (!acc) for (int j = 0; j < len; j++) gx[base + (long long)j * inner] = 0.f;
        for (int t = 0; t < k; t++) {
            long long o = obase + (long long)t * inner, j = base + idx[o] * inner;
            gx[j] = gx[j] + gy[o];
        }
    }
}

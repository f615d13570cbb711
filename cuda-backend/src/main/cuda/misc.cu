// Data movement: strided row copies (Concat, Slice), N-d transpose, Embedding.
#include "common.cuh"

// dst[r * dstStride + c] (+)= src[r * srcStride + c] for r < rows, c < cols.
extern "C" __global__ void copy_rows(const float* src, long long srcStride, float* dst, long long dstStride,
                                     long long rows, long long cols, int acc) {
    long long n = rows * cols;
    GRID_LOOP(i, n) {
        long long r = i / cols, c = i % cols;
        store_acc(dst + r * dstStride + c, src[r * srcStride + c], acc);
    }
}

// y (+)= x permuted: y has dims d0..d5 (unused leading dims are 1); s_k is x's element stride along y's dim k.
extern "C" __global__ void transpose_nd(const float* x, float* y, long long n, int d0, int d1, int d2, int d3, int d4,
                                        int d5, long long s0, long long s1, long long s2, long long s3, long long s4,
                                        long long s5, int acc) {
    GRID_LOOP(i, n) {
        long long t = i, off = 0;
        off += (t % d5) * s5; t /= d5;
        off += (t % d4) * s4; t /= d4;
        off += (t % d3) * s3; t /= d3;
        off += (t % d2) * s2; t /= d2;
        off += (t % d1) * s1; t /= d1;
        off += t * s0;
        store_acc(y + i, x[off], acc);
    }
}

// y[r, :] = W[idx[r], :]; an index outside [0, num) gives a zero row.
extern "C" __global__ void embedding_fwd(const void* idx, const float* W, float* y, long long rows, int D, int num,
                                         int i64) {
    long long n = rows * D;
    GRID_LOOP(i, n) {
        long long r = i / D;
        int d = (int)(i % D);
        long long t = load_index(idx, r, i64);
        y[i] = (t >= 0 && t < num) ? W[t * D + d] : 0.f;
    }
}

// gW[idx[r], :] += gy[r, :] (atomic: tokens repeat). The caller zeroes gW first when not accumulating.
extern "C" __global__ void embedding_bwd(const void* idx, const float* gy, float* gW, long long rows, int D, int num,
                                         int i64) {
    long long n = rows * D;
    GRID_LOOP(i, n) {
        long long r = i / D;
        int d = (int)(i % D);
        long long t = load_index(idx, r, i64);
        if (t >= 0 && t < num) atomicAdd(gW + t * D + d, gy[i]);
    }
}

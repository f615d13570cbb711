// Data movement: strided row copies (Concat, Slice, Split), N-d transpose, Pad, Embedding.
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

// dst[r * dstStride + c] = 0 for r < rows, c < cols (a Split part without a gradient).
extern "C" __global__ void zero_rows(float* dst, long long dstStride, long long rows, long long cols) {
    long long n = rows * cols;
    GRID_LOOP(i, n) dst[(i / cols) * dstStride + i % cols] = 0.f;
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

// Pad modes, the order of memplan.cuda.CudaOps#padMode.
#define PAD_CONSTANT 0
#define PAD_REFLECT 1
#define PAD_EDGE 2
#define PAD_WRAP 3

// Input coordinate of output coordinate o along a dim of input size n with begin pad b; -1 = constant padding.
// Reflect mirrors without repeating the edge, periodically for pads wider than the dim (the CPU kernel's rule);
// wrap repeats the dim periodically.
__device__ __forceinline__ long long pad_source(int mode, long long o, long long n, long long b) {
    long long c = o - b;
    if (c >= 0 && c < n) return c;
    if (mode == PAD_EDGE) return c < 0 ? 0 : n - 1;
    if (mode == PAD_WRAP) return ((c % n) + n) % n;
    if (mode == PAD_REFLECT) {
        if (n == 1) return 0;
        long long p = 2 * (n - 1), m = ((c % p) + p) % p;
        return m < n ? m : p - m;
    }
    return -1;
}

// The smallest output coordinate > prev (of out) whose source is input coordinate c, or out when there is none.
__device__ __forceinline__ long long pad_next(int mode, long long c, long long n, long long b, long long out,
                                              long long prev) {
    long long s = prev + 1 > 0 ? prev + 1 : 0, o;
    if (mode == PAD_WRAP) {   // o - b = c modulo n
        o = s + ((b + c - s) % n + n) % n;
    } else if (mode == PAD_REFLECT && n > 1) {   // o - b = c or -c modulo the period
        long long p = 2 * (n - 1), r1 = ((b + c) % p + p) % p, r2 = ((b - c) % p + p) % p;
        long long o1 = s + ((r1 - s) % p + p) % p, o2 = s + ((r2 - s) % p + p) % p;
        o = o1 < o2 ? o1 : o2;
    } else {   // a contiguous range: constant and interior edge coordinates map from one output coordinate
        long long lo = b + c, hi = b + c;
        if (mode != PAD_CONSTANT && c == 0) lo = 0;
        if (mode != PAD_CONSTANT && c == n - 1) hi = out - 1;
        o = s > lo ? s : lo;
        if (o > hi) o = out;
    }
    return o < out ? o : out;
}

#define PAD_SHAPES \
    const long long xd[6] = {x0, x1, x2, x3, x4, x5}, yd[6] = {y0, y1, y2, y3, y4, y5}; \
    const long long pb[6] = {p0, p1, p2, p3, p4, p5}

// y = x padded (or cropped by negative pads); x dims x0..x5, y dims y0..y5, begin pads p0..p5; zeros for constant.
extern "C" __global__ void pad_fwd(const float* x, float* y, long long n, int mode, int x0, int x1, int x2, int x3,
                                   int x4, int x5, int y0, int y1, int y2, int y3, int y4, int y5, int p0, int p1,
                                   int p2, int p3, int p4, int p5) {
    PAD_SHAPES;
    GRID_LOOP(i, n) {
        long long t = i, off = 0, st = 1;
        bool pad = false;
        for (int k = 5; k >= 0; k--) {
            long long c = pad_source(mode, t % yd[k], xd[k], pb[k]);
            t /= yd[k];
            if (c < 0) pad = true;
            off += c * st;
            st *= xd[k];
        }
        y[i] = pad ? 0.f : x[off];
    }
}

// gx (+)= the sum of gy over the output elements read from each input element, in increasing output order
// (an odometer over each dim's matching coordinates, last dim fastest), in double; n = input element count.
extern "C" __global__ void pad_bwd(const float* gy, float* gx, long long n, int mode, int acc, int x0, int x1, int x2,
                                   int x3, int x4, int x5, int y0, int y1, int y2, int y3, int y4, int y5, int p0,
                                   int p1, int p2, int p3, int p4, int p5) {
    PAD_SHAPES;
    long long yst[6];
    yst[5] = 1;
    for (int k = 4; k >= 0; k--) yst[k] = yst[k + 1] * yd[k + 1];
    GRID_LOOP(j, n) {
        long long c[6], o[6], t = j;
        bool none = false;
        for (int k = 5; k >= 0; k--) {
            c[k] = t % xd[k];
            t /= xd[k];
            o[k] = pad_next(mode, c[k], xd[k], pb[k], yd[k], -1);
            if (o[k] >= yd[k]) none = true;
        }
        double sum = 0.0;
        while (!none) {
            long long i = 0;
            for (int k = 0; k < 6; k++) i += o[k] * yst[k];
            sum += gy[i];
            int k = 5;
            for (; k >= 0; k--) {
                o[k] = pad_next(mode, c[k], xd[k], pb[k], yd[k], o[k]);
                if (o[k] < yd[k]) break;
                o[k] = pad_next(mode, c[k], xd[k], pb[k], yd[k], -1);
            }
            if (k < 0) break;
        }
        store_acc(gx + j, (float)sum, acc);
    }
}

// ScatterND: the offset (in data elements) of tuple j's slice; idx is int64 [tuples, k], data has dims d[0..5]
// (k leading ones indexed, st their element strides); negative indices count from the end; -1 when out of range.
__device__ __forceinline__ long long scatter_offset(const long long* idx, long long j, int k, const int* d,
                                                    const long long* st) {
    long long off = 0;
    for (int t = 0; t < k; t++) {
        long long v = idx[j * k + t];
        if (v < 0) v += d[t];
        if (v < 0 || v >= d[t]) return -1;
        off += v * st[t];
    }
    return off;
}

#define SCATTER_DIMS \
    const int d[6] = {d0, d1, d2, d3, d4, d5}; \
    long long st[6]; \
    st[5] = 1; \
    for (int q = 4; q >= 0; q--) st[q] = st[q + 1] * d[q + 1]

// y (already a copy of data) gets each tuple's slice of upd written (add: added), tuples in order; one thread per
// slice element, as the CPU kernel. data's dims are d0..d5 with its real rank's dims first (trailing ones 1).
extern "C" __global__ void scatter_nd_fwd(const float* upd, const long long* idx, float* y, long long tuples, int k,
                                          long long slice, int add, int d0, int d1, int d2, int d3, int d4, int d5) {
    SCATTER_DIMS;
    GRID_LOOP(i, slice) {
        for (long long j = 0; j < tuples; j++) {
            long long off = scatter_offset(idx, j, k, d, st);
            if (off >= 0) store_acc(y + off + i, upd[j * slice + i], add);
        }
    }
}

// gu[j * slice + i] (+)= gy[offset(j) + i]: one thread per updates element.
extern "C" __global__ void scatter_nd_bwd_upd(const float* gy, const long long* idx, float* gu, long long tuples,
                                              int k, long long slice, int acc, int d0, int d1, int d2, int d3, int d4,
                                              int d5) {
    SCATTER_DIMS;
    long long n = tuples * slice;
    GRID_LOOP(e, n) {
        long long j = e / slice, off = scatter_offset(idx, j, k, d, st);
        store_acc(gu + e, off >= 0 ? gy[off + e % slice] : 0.f, acc);
    }
}

// gx[e] (+)= gy[e], or 0 where a tuple's slice was written (reduction none): one thread per data element.
extern "C" __global__ void scatter_nd_bwd_data(const float* gy, const long long* idx, float* gx, long long n,
                                               long long tuples, int k, long long slice, int acc, int d0, int d1,
                                               int d2, int d3, int d4, int d5) {
    SCATTER_DIMS;
    GRID_LOOP(e, n) {
        bool written = false;
        for (long long j = 0; j < tuples && !written; j++) {
            long long off = scatter_offset(idx, j, k, d, st);
            written = off >= 0 && e >= off && e < off + slice;
        }
        store_acc(gx + e, written ? 0.f : gy[e], acc);
    }
}

// One-input elementwise ops (activations, Sqrt, Clip, Cast, Dropout), same-shape Add and Mul, copies. All use
// grid-stride loops over n elements. Where the CPU kernels (memplan.backend.cpu.UnaryKernels) compute in double,
// these do too, and products that feed a sum are rounded on their own (__fmul_rn: no fused multiply-add), so results
// agree to the last bit wherever the math library does.
#include "common.cuh"

extern "C" __global__ void fill_f32(float* p, long long n, float v) {
    GRID_LOOP(i, n) p[i] = v;
}

// dst = src (acc = 0) or dst += src (acc = 1); dst may equal src.
extern "C" __global__ void copy_acc(const float* src, float* dst, long long n, int acc) {
    GRID_LOOP(i, n) store_acc(dst + i, src[i], acc);
}

extern "C" __global__ void relu_fwd(const float* x, float* y, long long n) {
    GRID_LOOP(i, n) { float v = x[i]; y[i] = v > 0.f ? v : 0.f; }
}

// ReLU backward reads only the output (or any tensor with the same sign, e.g. a decoded 1-bit mask).
extern "C" __global__ void relu_bwd(const float* y, const float* gy, float* gx, long long n, int acc) {
    GRID_LOOP(i, n) { float g = y[i] > 0.f ? gy[i] : 0.f; store_acc(gx + i, g, acc); }
}

#define GELU_C 0.7978845608028654f   // sqrt(2/pi)
#define GELU_A 0.044715f

extern "C" __global__ void gelu_fwd(const float* x, float* y, long long n) {
    GRID_LOOP(i, n) {
        float v = x[i];
        float u = GELU_C * (v + GELU_A * v * v * v);
        y[i] = 0.5f * v * (1.f + tanhf(u));
    }
}

extern "C" __global__ void gelu_bwd(const float* x, const float* gy, float* gx, long long n, int acc) {
    GRID_LOOP(i, n) {
        float v = x[i], v2 = v * v;
        float t = tanhf(GELU_C * (v + GELU_A * v2 * v));
        float d = 0.5f * (1.f + t) + 0.5f * v * (1.f - t * t) * GELU_C * (1.f + 3.f * GELU_A * v2);
        store_acc(gx + i, gy[i] * d, acc);
    }
}

extern "C" __global__ void sigmoid_fwd(const float* x, float* y, long long n) {
    GRID_LOOP(i, n) y[i] = 1.f / (1.f + expf(-x[i]));
}

extern "C" __global__ void sigmoid_bwd(const float* y, const float* gy, float* gx, long long n, int acc) {
    GRID_LOOP(i, n) { float s = y[i]; store_acc(gx + i, gy[i] * s * (1.f - s), acc); }
}

extern "C" __global__ void tanh_fwd(const float* x, float* y, long long n) {
    GRID_LOOP(i, n) y[i] = tanhf(x[i]);
}

extern "C" __global__ void tanh_bwd(const float* y, const float* gy, float* gx, long long n, int acc) {
    GRID_LOOP(i, n) { float t = y[i]; store_acc(gx + i, gy[i] * (1.f - t * t), acc); }
}

extern "C" __global__ void add_fwd(const float* a, const float* b, float* y, long long n) {
    GRID_LOOP(i, n) y[i] = a[i] + b[i];
}

extern "C" __global__ void mul_fwd(const float* a, const float* b, float* y, long long n) {
    GRID_LOOP(i, n) y[i] = a[i] * b[i];
}

// Gradient of one factor of a product: g (+)= gy * other.
extern "C" __global__ void mul_bwd(const float* other, const float* gy, float* g, long long n, int acc) {
    GRID_LOOP(i, n) store_acc(g + i, gy[i] * other[i], acc);
}

// Counter-based RNG of (seed, node index, element index), the same hash as the CPU kernels
// (memplan.backend.cpu.PointwiseKernels.DropoutK.keep): h = mix(seed ^ mix(GOLDEN * (node + 1)) ^ (i * 0xD1B5...)),
// u = (h >> 40) / 2^24 in [0, 1), kept when u >= p, i.e. when (h >> 40) >= thr with thr = ceil(p * 2^24) (host).
__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

__device__ __forceinline__ bool dropout_keep(unsigned long long seed, int node, long long i, long long thr) {
    unsigned long long h = mix64(seed ^ mix64(0x9E3779B97F4A7C15ULL * (unsigned long long)((long long)node + 1))
                                 ^ ((unsigned long long)i * 0xD1B54A32D192ED03ULL));
    return (long long)(h >> 40) >= thr;
}

extern "C" __global__ void dropout_fwd(const float* x, float* y, unsigned char* mask, long long n, long long thr,
                                       float scale, long long seed, int node) {
    GRID_LOOP(i, n) {
        bool keep = dropout_keep((unsigned long long)seed, node, i, thr);
        y[i] = keep ? x[i] * scale : 0.f;
        mask[i] = keep ? 1 : 0;
    }
}

extern "C" __global__ void dropout_bwd(const unsigned char* mask, const float* gy, float* gx, long long n,
                                       float scale, int acc) {
    GRID_LOOP(i, n) store_acc(gx + i, mask[i] ? gy[i] * scale : 0.f, acc);
}

// LeakyReLU: x for x > 0, slope x otherwise; backward reads x.
extern "C" __global__ void leaky_relu_fwd(const float* x, float* y, long long n, double slope) {
    GRID_LOOP(i, n) { float v = x[i]; y[i] = v > 0.f ? v : (float)(slope * v); }
}

extern "C" __global__ void leaky_relu_bwd(const float* x, const float* gy, float* gx, long long n, double slope,
                                          int acc) {
    GRID_LOOP(i, n) { float d = x[i] > 0.f ? 1.f : (float)slope; store_acc(gx + i, __fmul_rn(gy[i], d), acc); }
}

// HardSigmoid: max(0, min(1, alpha x + beta)); backward reads x: alpha strictly inside (0, 1), else 0.
extern "C" __global__ void hardsigmoid_fwd(const float* x, float* y, long long n, double alpha, double beta) {
    GRID_LOOP(i, n) y[i] = (float)java_max(0.0, java_min(1.0, __dadd_rn(__dmul_rn(alpha, x[i]), beta)));
}

extern "C" __global__ void hardsigmoid_bwd(const float* x, const float* gy, float* gx, long long n, double alpha,
                                           double beta, int acc) {
    GRID_LOOP(i, n) {
        double v = __dadd_rn(__dmul_rn(alpha, x[i]), beta);
        float d = v > 0.0 && v < 1.0 ? (float)alpha : 0.f;
        store_acc(gx + i, __fmul_rn(gy[i], d), acc);
    }
}

// HardSwish: x * max(0, min(1, x / 6 + 1/2)); backward reads x.
extern "C" __global__ void hardswish_fwd(const float* x, float* y, long long n) {
    GRID_LOOP(i, n) {
        float v = x[i];
        y[i] = v <= -3.f ? 0.f : v >= 3.f ? v : (float)(v * (v + 3.0) / 6.0);
    }
}

extern "C" __global__ void hardswish_bwd(const float* x, const float* gy, float* gx, long long n, int acc) {
    GRID_LOOP(i, n) {
        float v = x[i];
        float d = v < -3.f ? 0.f : v > 3.f ? 1.f : (float)((2.0 * v + 3.0) / 6.0);
        store_acc(gx + i, __fmul_rn(gy[i], d), acc);
    }
}

// Mish: x * tanh(softplus(x)), in double as the CPU kernel; backward reads x.
__device__ double mish_softplus(double v) { return v > 20.0 ? v : log1p(exp(v)); }

extern "C" __global__ void mish_fwd(const float* x, float* y, long long n) {
    GRID_LOOP(i, n) {
        double v = x[i];
        y[i] = (float)(v * tanh(mish_softplus(v)));
    }
}

extern "C" __global__ void mish_bwd(const float* x, const float* gy, float* gx, long long n, int acc) {
    GRID_LOOP(i, n) {
        double v = x[i];
        double t = tanh(mish_softplus(v));
        float d = (float)(t + v * (1.0 - t * t) / (1.0 + exp(-v)));
        store_acc(gx + i, __fmul_rn(gy[i], d), acc);
    }
}

// SiLU: x * sigmoid(x), in double as the CPU kernel; backward reads x.
extern "C" __global__ void silu_fwd(const float* x, float* y, long long n) {
    GRID_LOOP(i, n) {
        double v = x[i];
        y[i] = (float)(v / (1.0 + exp(-v)));
    }
}

extern "C" __global__ void silu_bwd(const float* x, const float* gy, float* gx, long long n, int acc) {
    GRID_LOOP(i, n) {
        double v = x[i];
        double s = 1.0 / (1.0 + exp(-v));
        float d = (float)(s * (1.0 + v * (1.0 - s)));
        store_acc(gx + i, __fmul_rn(gy[i], d), acc);
    }
}

// Sqrt; backward reads y: g / (2 y).
extern "C" __global__ void sqrt_fwd(const float* x, float* y, long long n) {
    GRID_LOOP(i, n) y[i] = (float)sqrt((double)x[i]);
}

extern "C" __global__ void sqrt_bwd(const float* y, const float* gy, float* gx, long long n, int acc) {
    GRID_LOOP(i, n) store_acc(gx + i, __fmul_rn(gy[i], (float)(0.5 / (double)y[i])), acc);
}

// Clip to [lo, hi] (infinite when absent); NaN stays NaN. Backward reads y: the gradient passes where lo < y < hi.
// y may be x (in place).
extern "C" __global__ void clip_fwd(const float* x, float* y, long long n, double lo, double hi) {
    GRID_LOOP(i, n) {
        float v = x[i];
        y[i] = v != v ? v : (float)java_max(lo, java_min(hi, (double)v));
    }
}

extern "C" __global__ void clip_bwd(const float* y, const float* gy, float* gx, long long n, float lo, float hi,
                                    int acc) {
    GRID_LOOP(i, n) {
        float v = y[i];
        store_acc(gx + i, __fmul_rn(gy[i], v > lo && v < hi ? 1.f : 0.f), acc);
    }
}

// Element i of a tensor of dtype dt (DT_*) as a double (integers exact up to 2^53).
__device__ __forceinline__ double load_value(const void* p, long long i, int dt) {
    switch (dt) {
        case DT_FP32: return ((const float*)p)[i];
        case DT_INT32: return ((const int*)p)[i];
        case DT_INT64: return (double)((const long long*)p)[i];
        default: return ((const unsigned char*)p)[i] != 0 ? 1.0 : 0.0;
    }
}

// Cast between fp32, int32, int64 and bool (DT_* codes; no fp16/bf16). To an integer type: truncation toward zero,
// as Java's (long) and then (int) of it; to bool: nonzero. x and y do not overlap unless both are fp32.
extern "C" __global__ void cast_any(const void* x, void* y, long long n, int from, int to) {
    GRID_LOOP(i, n) {
        switch (to) {
            case DT_FP32:
                ((float*)y)[i] = from == DT_FP32 ? ((const float*)x)[i] : (float)load_value(x, i, from);
                break;
            case DT_INT64: ((long long*)y)[i] = java_d2l(load_value(x, i, from)); break;
            case DT_INT32: ((int*)y)[i] = (int)java_d2l(load_value(x, i, from)); break;
            default: ((unsigned char*)y)[i] = load_truth(x, i, from) ? 1 : 0; break;
        }
    }
}

// Gated MLP activation y = act(g) * u, act SiLU (gelu = 0) or GELU's tanh form (gelu = 1), in double as the CPU
// kernel; aux a = act(g) (may be null).
__device__ __forceinline__ double glu_act(double v, int gelu) {
    if (!gelu) return v / (1.0 + exp(-v));
    return 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}

__device__ __forceinline__ double glu_deriv(double v, int gelu) {
    if (!gelu) {
        double s = 1.0 / (1.0 + exp(-v));
        return s * (1.0 + v * (1.0 - s));
    }
    double c = 0.7978845608028654, a = 0.044715;
    double t = tanh(c * (v + a * v * v * v));
    return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * a * v * v);
}

extern "C" __global__ void glu_fwd(const float* g, const float* u, float* y, float* act, long long n, int gelu) {
    GRID_LOOP(i, n) {
        float a = (float)glu_act(g[i], gelu);
        if (act) act[i] = a;
        y[i] = __fmul_rn(a, u[i]);
    }
}

// d up = gy * act(g), d gate = gy * u * act'(g); gg or gu may be null.
extern "C" __global__ void glu_bwd(const float* g, const float* u, const float* act, const float* gy, float* gg,
                                   float* gu, long long n, int gelu, int accG, int accU) {
    GRID_LOOP(i, n) {
        float dy = gy[i];
        if (gu) store_acc(gu + i, __fmul_rn(dy, act[i]), accU);
        if (gg) store_acc(gg + i, __fmul_rn(__fmul_rn(dy, u[i]), (float)glu_deriv(g[i], gelu)), accG);
    }
}

// Rotary embedding, rotate-half form, of x [rows = N * T, W] in heads of dh: pair (i, i + dh/2) of each head at
// position t = row % T turns by sign * t * theta^(-2i/dh) (sign -1: the backward of a gradient). One thread per pair.
extern "C" __global__ void rope(const float* x, float* y, long long pairs, int T, int W, int dh, double theta,
                                int sign, int acc) {
    int half = dh / 2, rowPairs = W / 2;
    GRID_LOOP(e, pairs) {
        long long row = e / rowPairs;
        int k = (int)(e % rowPairs), h = k / half, i = k % half;
        int t = (int)(row % T);
        double ang = t * pow(theta, -2.0 * i / dh);
        float c = (float)cos(ang), s = sign * (float)sin(ang);
        long long o = row * W + (long long)h * dh + i;
        float x1 = x[o], x2 = x[o + half];
        store_acc(y + o, __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s)), acc);
        store_acc(y + o + half, __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s)), acc);
    }
}

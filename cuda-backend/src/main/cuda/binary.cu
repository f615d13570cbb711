// Two-operand elementwise ops with NumPy broadcasting: Add, Mul (when the shapes differ; equal shapes use
// elementwise.cu), Sub, Div, Pow, ConstElementwise (x with a constant tensor or scalar), MaskedFill.
// Shapes arrive collapsed to at most 6 output dims d0..d5 (unused leading ones are 1) with each operand's element
// stride along each output dim (0 where it broadcasts). The gradient of an operand runs one thread per operand
// element, summing its output positions in increasing output order in double, as the CPU kernels
// (memplan.backend.cpu.Broadcasting): deterministic, no atomics. An absent operand pointer reads its scalar.
#include "common.cuh"

#define BIN_ADD 0
#define BIN_SUB 1
#define BIN_MUL 2
#define BIN_DIV 3
#define BIN_POW 4
#define BIN_POW_RECOVER 5   // c ^ x w.r.t. c with x not saved: x = ln(y) / ln(c) (ConstElementwise)
#define BIN_MOD 6           // remainder with the divisor's sign (PyTorch's remainder, ONNX Mod fmod = 0)
#define BIN_FMOD 7          // remainder with the dividend's sign (C's fmod, ONNX Mod fmod = 1)

__device__ __forceinline__ float bin_apply(int f, float a, float b) {
    switch (f) {
        case BIN_ADD: return a + b;
        case BIN_SUB: return a - b;
        case BIN_MUL: return a * b;
        case BIN_DIV: return a / b;
        case BIN_MOD: {   // as the CPU kernel: fmodf (exact), moved by b where the signs differ
            float r = fmodf(a, b);
            return r != 0.f && (r < 0.f) != (b < 0.f) ? r + b : r;
        }
        case BIN_FMOD: return fmodf(a, b);
        default: return (float)java_pow(a, b);
    }
}

// d(a f b)/da (wrt 0) or d(a f b)/db (wrt 1), given y = a f b (computed when hasY is false and f is Pow).
__device__ __forceinline__ double bin_grad(int f, int wrt, double a, double b, double y, bool hasY) {
    switch (f) {
        case BIN_ADD: return 1.0;
        case BIN_SUB: return wrt ? -1.0 : 1.0;
        case BIN_MUL: return wrt ? a : b;
        case BIN_DIV: return wrt ? -a / __dmul_rn(b, b) : 1.0 / b;
        case BIN_MOD: return wrt ? -floor(a / b) : 1.0;   // PyTorch: -g * a.div(b, rounding_mode="floor")
        case BIN_FMOD: return wrt ? -trunc(a / b) : 1.0;  // rounding_mode="trunc"
        case BIN_POW:
            // PyTorch: 0 where the exponent is 0 (d/da), and where the base is 0 and the exponent >= 0 (d/db)
            if (!wrt) return b == 0.0 ? 0.0 : __dmul_rn(b, java_pow(a, b - 1));
            if (!hasY) y = java_pow(a, b);
            return a == 0.0 && b >= 0.0 ? 0.0 : __dmul_rn(log(a), y);
        default: {   // BIN_POW_RECOVER, w.r.t. the base a = c: d(c^x)/dc = x c^(x-1) = x y / c
            double x = log(y) / log(a);
            return __dmul_rn(x, y) / a;
        }
    }
}

#define SHAPE6 \
    const int d[6] = {d0, d1, d2, d3, d4, d5}; \
    const long long s0[6] = {a0, a1, a2, a3, a4, a5}, s1[6] = {b0, b1, b2, b3, b4, b5}

// Offsets into operands 0 and 1 of output element i.
__device__ __forceinline__ void offsets(long long i, const int* d, const long long* s0, const long long* s1,
                                        long long* o0, long long* o1) {
    long long a = 0, b = 0;
    for (int k = 5; k >= 0; k--) {
        long long c = i % d[k];
        i /= d[k];
        a += c * s0[k];
        b += c * s1[k];
    }
    *o0 = a;
    *o1 = b;
}

// Sum of term(i, o0, o1) over the output elements i that map to element j of the operand with strides own (one of
// s0, s1), in increasing i (an odometer over the dims where own is 0, last dim fastest); o0, o1 as in offsets().
template <typename Term>
__device__ __forceinline__ double sum_over_broadcast(long long j, const int* d, const long long* own,
                                                     const long long* s0, const long long* s1, Term term) {
    long long ost[6];
    ost[5] = 1;
    for (int k = 4; k >= 0; k--) ost[k] = ost[k + 1] * d[k + 1];
    long long i = 0, o0 = 0, o1 = 0, rem = j, per = 1;
    for (int k = 5; k >= 0; k--) {
        if (own[k] == 0) {   // broadcast dim of this operand: walked below
            per *= d[k];
            continue;
        }
        long long c = rem % d[k];
        rem /= d[k];
        i += c * ost[k];
        o0 += c * s0[k];
        o1 += c * s1[k];
    }
    int c[6] = {0, 0, 0, 0, 0, 0};
    double sum = 0.0;
    for (long long t = 0; t < per; t++) {
        sum += term(i, o0, o1);
        for (int k = 5; k >= 0; k--) {
            if (own[k] != 0 || d[k] <= 1) continue;
            i += ost[k];
            o0 += s0[k];
            o1 += s1[k];
            if (++c[k] < d[k]) break;
            i -= ost[k] * d[k];
            o0 -= s0[k] * d[k];
            o1 -= s1[k] * d[k];
            c[k] = 0;
        }
    }
    return sum;
}

// y[i] = a[.] f b[.]; a (b) null: the scalar as (bs). y may be an operand of its shape (in place).
extern "C" __global__ void bcast_fwd(const float* a, const float* b, float* y, long long n, int f, float as, float bs,
                                     int d0, int d1, int d2, int d3, int d4, int d5, long long a0, long long a1,
                                     long long a2, long long a3, long long a4, long long a5, long long b0, long long b1,
                                     long long b2, long long b3, long long b4, long long b5) {
    SHAPE6;
    GRID_LOOP(i, n) {
        long long o0, o1;
        offsets(i, d, s0, s1, &o0, &o1);
        y[i] = bin_apply(f, a ? a[o0] : as, b ? b[o1] : bs);
    }
}

// g (+)= the gradient of operand wrt (0 = a, 1 = b; n = its element count): the sum over its output positions of
// gy * d(a f b)/d(operand). a, b, y are read only where the derivative needs them (null: the scalar, or y computed).
// g may be gy when it has the output's size (each thread reads its own element before writing it).
extern "C" __global__ void bcast_bwd(const float* a, const float* b, const float* y, const float* gy, float* g,
                                     long long n, int f, int wrt, float as, float bs, int acc, int d0, int d1, int d2,
                                     int d3, int d4, int d5, long long a0, long long a1, long long a2, long long a3,
                                     long long a4, long long a5, long long b0, long long b1, long long b2,
                                     long long b3, long long b4, long long b5) {
    SHAPE6;
    GRID_LOOP(j, n) {
        double s = sum_over_broadcast(j, d, wrt ? s1 : s0, s0, s1, [&](long long i, long long o0, long long o1) {
            double av = a ? a[o0] : as, bv = b ? b[o1] : bs, yv = y ? y[i] : 0.f;
            return __dmul_rn((double)gy[i], bin_grad(f, wrt, av, bv, yv, y != nullptr));
        });
        store_acc(g + j, (float)s, acc);
    }
}

// MaskedFill: y[i] = x[.] where the mask (dtype mdt, operand 1) is true == keepTrue, else v.
extern "C" __global__ void masked_fill_fwd(const float* x, const void* m, float* y, long long n, int mdt,
                                           int keepTrue, float v, int d0, int d1, int d2, int d3, int d4, int d5,
                                           long long a0, long long a1, long long a2, long long a3, long long a4,
                                           long long a5, long long b0, long long b1, long long b2, long long b3,
                                           long long b4, long long b5) {
    SHAPE6;
    GRID_LOOP(i, n) {
        long long o0, o1;
        offsets(i, d, s0, s1, &o0, &o1);
        y[i] = load_truth(m, o1, mdt) == (keepTrue != 0) ? x[o0] : v;
    }
}

// gx (+)= gy where kept, summed over x's broadcast positions (n = x's element count); gx may be gy (same size).
extern "C" __global__ void masked_fill_bwd(const void* m, const float* gy, float* gx, long long n, int mdt,
                                           int keepTrue, int acc, int d0, int d1, int d2, int d3, int d4, int d5,
                                           long long a0, long long a1, long long a2, long long a3, long long a4,
                                           long long a5, long long b0, long long b1, long long b2, long long b3,
                                           long long b4, long long b5) {
    SHAPE6;
    GRID_LOOP(j, n) {
        double s = sum_over_broadcast(j, d, s0, s0, s1, [&](long long i, long long, long long o1) {
            return load_truth(m, o1, mdt) == (keepTrue != 0) ? (double)gy[i] : 0.0;
        });
        store_acc(gx + j, (float)s, acc);
    }
}

// Element i of a tensor of dtype dt (DT_*) as a double, as the CPU's Compare reads it (a bool as its byte).
__device__ __forceinline__ double load_number(const void* p, long long i, int dt) {
    switch (dt) {
        case DT_FP32: return ((const float*)p)[i];
        case DT_INT32: return ((const int*)p)[i];
        case DT_INT64: return (double)((const long long*)p)[i];
        default: return ((const unsigned char*)p)[i];
    }
}

// Compare: a bool output (one byte per element) from operands of any dtype except fp16/bf16; rel in the order of
// memplan.ops.Compare.Relation (equal, less, greater, and, or, xor, not); a null x1 compares x0 with v.
extern "C" __global__ void compare_fwd(const void* x0, const void* x1, unsigned char* y, long long n, int dt0,
                                       int dt1, int rel, double v, int d0, int d1, int d2, int d3, int d4, int d5,
                                       long long a0, long long a1, long long a2, long long a3, long long a4,
                                       long long a5, long long b0, long long b1, long long b2, long long b3,
                                       long long b4, long long b5) {
    SHAPE6;
    GRID_LOOP(i, n) {
        long long o0, o1;
        offsets(i, d, s0, s1, &o0, &o1);
        double a = load_number(x0, o0, dt0), b = x1 != nullptr ? load_number(x1, o1, dt1) : v;
        bool r;
        switch (rel) {
            case 0: r = a == b; break;
            case 1: r = a < b; break;
            case 2: r = a > b; break;
            case 3: r = a != 0.0 && b != 0.0; break;
            case 4: r = a != 0.0 || b != 0.0; break;
            case 5: r = (a != 0.0) != (b != 0.0); break;
            default: r = a == 0.0; break;
        }
        y[i] = r ? 1 : 0;
    }
}

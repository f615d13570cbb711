// Storage codecs for kept activations; byte layouts as memplan.backend.Codec#encodedBytes:
//   MASK_1BIT: bit i (LSB first within each byte, little-endian 32-bit words) = x[i] > 0; decodes to 1.0 / 0.0.
//   SPARSE:    a bitmap of "x[i]'s bits are not +0.0f", then the non-zero values in order, at most cap of them.
//   FP16/BF16: 2 bytes per element, round to nearest even.
#include <cuda_fp16.h>
#include "common.cuh"

extern "C" __global__ void mask_enc(const float* x, unsigned* words, long long n) {
    long long nr = (n + 31) & ~31LL;   // whole warps take part in every ballot
    GRID_LOOP(i, nr) {
        bool b = i < n && x[i] > 0.f;
        unsigned m = __ballot_sync(0xffffffffu, b);
        if ((threadIdx.x & 31) == 0) words[i >> 5] = m;
    }
}

extern "C" __global__ void mask_dec(const unsigned* words, float* y, long long n) {
    GRID_LOOP(i, n) y[i] = ((words[i >> 5] >> (i & 31)) & 1u) ? 1.f : 0.f;
}

// Exclusive prefix sum over a 1-D block; *total gets the block's sum. Reached by all threads.
__device__ __forceinline__ int block_exclusive_scan(int v, int* total) {
    __shared__ int ws[32];
    __shared__ int wtotal;
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    int x = v;
    #pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        int y = __shfl_up_sync(0xffffffffu, x, o);
        if (lane >= o) x += y;
    }
    if (lane == 31) ws[wid] = x;
    __syncthreads();
    if (wid == 0) {
        int t = lane < nw ? ws[lane] : 0;
        int s = t;
        #pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            int y = __shfl_up_sync(0xffffffffu, s, o);
            if (lane >= o) s += y;
        }
        if (lane < nw) ws[lane] = s - t;
        if (lane == 31) wtotal = s;
    }
    __syncthreads();
    int res = ws[wid] + x - v;
    *total = wtotal;
    __syncthreads();
    return res;
}

// One block (1024 threads) walks the tensor in chunks of blockDim.x words; each thread packs one 32-element word
// and writes its non-zeros at its prefix position. status[0] is set to 1 when the non-zeros exceed cap.
extern "C" __global__ void sparse_enc(const float* x, unsigned char* dst, long long n, long long cap, int* status) {
    long long nwords = (n + 31) >> 5;
    unsigned* words = (unsigned*)dst;
    float* vals = (float*)(dst + nwords * 4);
    long long base = 0;
    for (long long w0 = 0; w0 < nwords; w0 += blockDim.x) {
        long long w = w0 + threadIdx.x;
        unsigned bits = 0;
        if (w < nwords) {
            for (int k = 0; k < 32; k++) {
                long long e = w * 32 + k;
                if (e < n && __float_as_uint(x[e]) != 0u) bits |= 1u << k;   // -0.0f is kept: bit-exact
            }
            words[w] = bits;
        }
        int total;
        long long pos = base + block_exclusive_scan(__popc(bits), &total);
        for (int k = 0; k < 32; k++)
            if (bits & (1u << k)) {
                if (pos < cap) vals[pos] = x[w * 32 + k];
                pos++;
            }
        base += total;
    }
    if (threadIdx.x == 0 && base > cap && status) atomicExch(status, 1);
}

extern "C" __global__ void sparse_dec(const unsigned char* src, float* y, long long n, long long cap) {
    long long nwords = (n + 31) >> 5;
    const unsigned* words = (const unsigned*)src;
    const float* vals = (const float*)(src + nwords * 4);
    long long base = 0;
    for (long long w0 = 0; w0 < nwords; w0 += blockDim.x) {
        long long w = w0 + threadIdx.x;
        unsigned bits = w < nwords ? words[w] : 0u;
        int total;
        long long pos = base + block_exclusive_scan(__popc(bits), &total);
        if (w < nwords)
            for (int k = 0; k < 32; k++) {
                long long e = w * 32 + k;
                if (e >= n) break;
                float v = 0.f;
                if (bits & (1u << k)) {
                    if (pos < cap) v = vals[pos];
                    pos++;
                }
                y[e] = v;
            }
        base += total;
    }
}

// The encoded size is rounded up to whole 4-byte words: for odd n the last half-word is written as 0.
extern "C" __global__ void fp16_enc(const float* x, unsigned short* h, long long n) {
    long long n2 = (n + 1) & ~1LL;
    GRID_LOOP(i, n2) h[i] = i < n ? __half_as_ushort(__float2half_rn(x[i])) : (unsigned short)0;
}

extern "C" __global__ void fp16_dec(const unsigned short* h, float* y, long long n) {
    GRID_LOOP(i, n) y[i] = __half2float(__ushort_as_half(h[i]));
}

// bfloat16 by hand (the cvt.rn.bf16 instruction needs sm_80; this runs on sm_75 too).
extern "C" __global__ void bf16_enc(const float* x, unsigned short* h, long long n) {
    long long n2 = (n + 1) & ~1LL;
    GRID_LOOP(i, n2) {
        if (i >= n) { h[i] = 0; continue; }
        unsigned u = __float_as_uint(x[i]);
        unsigned short r;
        if ((u & 0x7fffffffu) > 0x7f800000u) r = (unsigned short)((u >> 16) | 0x40u);   // NaN stays a quiet NaN
        else r = (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
        h[i] = r;
    }
}

extern "C" __global__ void bf16_dec(const unsigned short* h, float* y, long long n) {
    GRID_LOOP(i, n) y[i] = __uint_as_float(((unsigned)h[i]) << 16);
}

// Shared helpers of MemPlan's CUDA kernels. Every kernel is extern "C" so that its PTX entry keeps its name.
// Conventions: fp32 tensors; INT64 indices as long long; BOOL as one unsigned char per element.
// "acc" flags: 1 = add into the destination (gradient accumulation), 0 = overwrite it.
#pragma once

// Dynamic shared memory; the host emulator used by the tests (src/test/emu) defines it its own way.
#ifndef DYN_SMEM
#define DYN_SMEM(T, name) extern __shared__ T name[]
#endif

#define GRID_LOOP(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)

__device__ __forceinline__ float warp_sum(float v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a 1-D block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
// Must be reached by all threads of the block.
__device__ __forceinline__ float block_sum(float v) {
    __shared__ float sh[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    if (w == 0) {
        float t = lane < nw ? sh[lane] : 0.f;
        t = warp_sum(t);
        if (lane == 0) sh[0] = t;
    }
    __syncthreads();
    return sh[0];
}

__device__ __forceinline__ double block_sum_d(double v) {
    __shared__ double shd[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) shd[w] = v;
    __syncthreads();
    if (w == 0) {
        double t = lane < nw ? shd[lane] : 0.0;
        t = warp_sum_d(t);
        if (lane == 0) shd[0] = t;
    }
    __syncthreads();
    return shd[0];
}

__device__ __forceinline__ float block_max(float v) {
    __shared__ float shm[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) shm[w] = v;
    __syncthreads();
    if (w == 0) {
        float t = lane < nw ? shm[lane] : -INFINITY;
        t = warp_max(t);
        if (lane == 0) shm[0] = t;
    }
    __syncthreads();
    return shm[0];
}

__device__ __forceinline__ void store_acc(float* p, float v, int acc) {
    *p = acc ? *p + v : v;
}

// Reads an integer index tensor element (int64 when i64 != 0, else int32).
__device__ __forceinline__ long long load_index(const void* p, long long i, int i64) {
    return i64 ? ((const long long*)p)[i] : (long long)((const int*)p)[i];
}

// Dtype codes of the kernels that read any dtype (Cast, masks): the order of memplan.cuda.CudaOps#dtypeCode.
#define DT_FP32 0
#define DT_INT32 1
#define DT_INT64 2
#define DT_BOOL 3
#define DT_HALF 4   // fp16 or bf16: only their truth (nonzero) is read

// Whether element i of a tensor of dtype dt is nonzero (a mask); -0.0 and NaN as the CPU kernels (!= 0).
__device__ __forceinline__ bool load_truth(const void* p, long long i, int dt) {
    switch (dt) {
        case DT_FP32: return ((const float*)p)[i] != 0.f;
        case DT_INT32: return ((const int*)p)[i] != 0;
        case DT_INT64: return ((const long long*)p)[i] != 0;
        case DT_BOOL: return ((const unsigned char*)p)[i] != 0;
        default: return (((const unsigned short*)p)[i] & 0x7fff) != 0;
    }
}

// Java's Math.max / Math.min on doubles: NaN wins, and -0.0 < 0.0 (fmax/fmin do neither).
__device__ __forceinline__ double java_max(double a, double b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0.0 && b == 0.0) return signbit(a) ? b : a;
    return a > b ? a : b;
}

__device__ __forceinline__ double java_min(double a, double b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0.0 && b == 0.0) return signbit(a) ? a : b;
    return a < b ? a : b;
}

// Java's (long) of a double: truncation, NaN to 0, saturating (a C cast is undefined there).
__device__ __forceinline__ long long java_d2l(double v) {
    if (v != v) return 0;
    if (v >= 9.2233720368547758e18) return 0x7fffffffffffffffLL;
    if (v <= -9.2233720368547758e18) return (long long)0x8000000000000000ULL;
    return (long long)v;
}

// Java's Math.pow where C's pow differs: pow(x, NaN) and pow(+-1, +-inf) are NaN.
__device__ __forceinline__ double java_pow(double a, double b) {
    if (b != b) return b;
    if ((a == 1.0 || a == -1.0) && isinf(b)) return b - b;
    return pow(a, b);
}

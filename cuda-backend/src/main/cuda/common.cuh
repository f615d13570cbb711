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

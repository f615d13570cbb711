// A host emulator of the small part of CUDA that MemPlan's kernels use, so the tests can run the very same
// src/main/cuda/*.cu on a machine without a GPU. Blocks run one after another; the threads of a block run as OS
// threads, so __syncthreads is a real barrier and warp shuffles / ballots exchange values between lane threads.
// Shared memory is a static (one block at a time); dynamic shared memory starts filled with 0xFF bytes (NaN) so that
// reading what no thread wrote shows up. Not fast: meant for small test shapes.
#pragma once
#define MEMPLAN_EMU 1
#include <math.h>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <algorithm>
#include <barrier>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <type_traits>

using std::isnan;

// CUDA's min/max accept mixed integer types (e.g. unsigned blockIdx.x with int).
template <typename A, typename B>
inline std::common_type_t<A, B> min(A a, B b) { return b < a ? b : a; }
template <typename A, typename B>
inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }

struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x = 1, y = 1, z = 1; };

namespace emu {
inline thread_local uint3 t_tid, t_bid;
inline dim3 g_block, g_grid;
inline std::unique_ptr<std::barrier<>> g_bar;
inline std::vector<std::unique_ptr<std::barrier<>>> g_warp_bars;
inline std::vector<unsigned long long> g_xchg;
inline std::vector<unsigned char> g_dyn_smem;
inline std::mutex g_atomic;

inline int linear_tid() { return (int)(t_tid.x + t_tid.y * g_block.x + t_tid.z * g_block.x * g_block.y); }

template <typename T>
T shfl(T v, int srcLane) {
    static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
    int lin = linear_tid(), w = lin / 32;
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    g_xchg[lin] = bits;
    g_warp_bars[w]->arrive_and_wait();
    unsigned long long got = g_xchg[w * 32 + srcLane];
    g_warp_bars[w]->arrive_and_wait();
    T r;
    std::memcpy(&r, &got, sizeof(T));
    return r;
}

inline unsigned ballot(bool p) {
    int lin = linear_tid(), w = lin / 32;
    g_xchg[lin] = p ? 1 : 0;
    g_warp_bars[w]->arrive_and_wait();
    unsigned m = 0;
    for (int l = 0; l < 32; l++) if (g_xchg[w * 32 + l]) m |= 1u << l;
    g_warp_bars[w]->arrive_and_wait();
    return m;
}

using Thunk = std::function<void(void**)>;

inline void reset_block(int n, size_t smem) {
    g_bar = std::make_unique<std::barrier<>>(n);
    g_warp_bars.clear();
    for (int w = 0; w < n / 32; w++) g_warp_bars.push_back(std::make_unique<std::barrier<>>(32));
    g_xchg.assign(n, 0);
    g_dyn_smem.assign(smem + 16, 0xFF);
}

// A kernel without barriers or warp exchanges runs on the calling thread, (block, thread) after (block, thread).
inline void launch_serial(const Thunk& f, dim3 grid, dim3 block, void** args) {
    g_grid = grid;
    g_block = block;
    long long blocks = (long long)grid.x * grid.y * grid.z;
    int n = (int)(block.x * block.y * block.z);
    for (long long b = 0; b < blocks; b++) {
        t_bid = {(unsigned)(b % grid.x), (unsigned)((b / grid.x) % grid.y), (unsigned)(b / ((long long)grid.x * grid.y))};
        for (int t = 0; t < n; t++) {
            t_tid = {(unsigned)(t % block.x), (unsigned)((t / block.x) % block.y), (unsigned)(t / (block.x * block.y))};
            f(args);
        }
    }
}

// Runs a kernel over the grid: one OS thread per CUDA thread of a block, reused for every block in turn.
inline void launch(const Thunk& f, dim3 grid, dim3 block, size_t smem, void** args) {
    g_grid = grid;
    g_block = block;
    int n = (int)(block.x * block.y * block.z);
    if (n % 32 != 0) throw std::runtime_error("emulator: block size must be a multiple of 32");
    long long blocks = (long long)grid.x * grid.y * grid.z;
    reset_block(n, smem);
    // Everyone has finished a block before the next one's barriers and shared memory are made.
    std::barrier end(n, [&]() noexcept { reset_block(n, smem); });
    std::vector<std::thread> threads;
    threads.reserve(n);
    for (int t = 0; t < n; t++) {
        threads.emplace_back([&, t] {
            t_tid = {(unsigned)(t % block.x), (unsigned)((t / block.x) % block.y), (unsigned)(t / (block.x * block.y))};
            for (long long b = 0; b < blocks; b++) {
                t_bid = {(unsigned)(b % grid.x), (unsigned)((b / grid.x) % grid.y), (unsigned)(b / ((long long)grid.x * grid.y))};
                f(args);
                g_warp_bars[t / 32]->arrive_and_drop();
                g_bar->arrive_and_drop();
                end.arrive_and_wait();
            }
        });
    }
    for (auto& th : threads) th.join();
}
}  // namespace emu

#define threadIdx (emu::t_tid)
#define blockIdx (emu::t_bid)
#define blockDim (emu::g_block)
#define gridDim (emu::g_grid)
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static
#define DYN_SMEM(T, name) T* name = reinterpret_cast<T*>(emu::g_dyn_smem.data())

inline void __syncthreads() { emu::g_bar->arrive_and_wait(); }
template <typename T> inline T __shfl_xor_sync(unsigned, T v, int o) { return emu::shfl(v, (emu::linear_tid() & 31) ^ o); }
template <typename T> inline T __shfl_up_sync(unsigned, T v, int d) {
    int lane = emu::linear_tid() & 31;
    return emu::shfl(v, lane >= d ? lane - d : lane);
}
inline unsigned __ballot_sync(unsigned, bool p) { return emu::ballot(p); }
inline float atomicAdd(float* p, float v) { std::lock_guard<std::mutex> g(emu::g_atomic); float o = *p; *p = o + v; return o; }
inline int atomicExch(int* p, int v) { std::lock_guard<std::mutex> g(emu::g_atomic); int o = *p; *p = v; return o; }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

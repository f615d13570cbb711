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
#include <setjmp.h>
#include <ucontext.h>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <type_traits>

using std::isnan;
using std::isinf;
using std::signbit;

// CUDA's min/max accept mixed integer types (e.g. unsigned blockIdx.x with int).
template <typename A, typename B>
inline std::common_type_t<A, B> min(A a, B b) { return b < a ? b : a; }
template <typename A, typename B>
inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }

struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x = 1, y = 1, z = 1; };

namespace emu {
inline uint3 t_tid, t_bid;
inline dim3 g_block, g_grid;
inline std::vector<unsigned long long> g_xchg;
inline std::vector<unsigned char> g_dyn_smem;

// A barrier among fibers: arrive, then yield until the generation moves on; a finished fiber drops out.
struct Bar {
    int expected = 0, arrived = 0;
    unsigned gen = 0;
};

// A fiber starts once with setcontext (its own stack) and is then switched with _setjmp/_longjmp, which, unlike
// swapcontext, makes no system call.
struct Fiber {
    ucontext_t ctx;
    jmp_buf jb;
    std::vector<char> stack;
    bool done = false, started = false;
};

inline jmp_buf g_sched_jb;
inline std::vector<Fiber> g_fibers;
inline int g_cur = 0;
inline Bar g_bar;
inline std::vector<Bar> g_warp_bars;
inline const std::function<void(void**)>* g_thunk = nullptr;
inline void** g_args = nullptr;

inline int linear_tid() { return (int)(t_tid.x + t_tid.y * g_block.x + t_tid.z * g_block.x * g_block.y); }

inline void yield() {
    if (!_setjmp(g_fibers[g_cur].jb)) _longjmp(g_sched_jb, 1);
}

inline void bar_wait(Bar& b) {
    unsigned g = b.gen;
    if (++b.arrived >= b.expected) {
        b.arrived = 0;
        b.gen++;
        return;
    }
    while (b.gen == g) yield();
}

inline void bar_drop(Bar& b) {
    b.expected--;
    if (b.expected > 0 && b.arrived >= b.expected) {
        b.arrived = 0;
        b.gen++;
    }
}

template <typename T>
T shfl(T v, int srcLane) {
    static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
    int lin = linear_tid(), w = lin / 32;
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    g_xchg[lin] = bits;
    bar_wait(g_warp_bars[w]);
    unsigned long long got = g_xchg[w * 32 + srcLane];
    bar_wait(g_warp_bars[w]);
    T r;
    std::memcpy(&r, &got, sizeof(T));
    return r;
}

inline unsigned ballot(bool p) {
    int lin = linear_tid(), w = lin / 32;
    g_xchg[lin] = p ? 1 : 0;
    bar_wait(g_warp_bars[w]);
    unsigned m = 0;
    for (int l = 0; l < 32; l++) if (g_xchg[w * 32 + l]) m |= 1u << l;
    bar_wait(g_warp_bars[w]);
    return m;
}

using Thunk = std::function<void(void**)>;

inline uint3 unflatten(long long i, dim3 d) {
    return {(unsigned)(i % d.x), (unsigned)((i / d.x) % d.y), (unsigned)(i / ((long long)d.x * d.y))};
}

// A kernel without barriers or warp exchanges runs plainly, (block, thread) after (block, thread).
inline void launch_serial(const Thunk& f, dim3 grid, dim3 block, void** args) {
    g_grid = grid;
    g_block = block;
    long long blocks = (long long)grid.x * grid.y * grid.z;
    int n = (int)(block.x * block.y * block.z);
    for (long long b = 0; b < blocks; b++) {
        t_bid = unflatten(b, grid);
        for (int t = 0; t < n; t++) {
            t_tid = unflatten(t, block);
            f(args);
        }
    }
}

inline void fiber_main() {
    int i = g_cur;
    (*g_thunk)(g_args);
    bar_drop(g_warp_bars[i / 32]);
    bar_drop(g_bar);
    g_fibers[i].done = true;
    _longjmp(g_sched_jb, 1);   // never returns: the next block makes a fresh context
}

// Runs a kernel over the grid, each block's threads as fibers.
inline void launch(const Thunk& f, dim3 grid, dim3 block, size_t smem, void** args) {
    g_grid = grid;
    g_block = block;
    g_thunk = &f;
    g_args = args;
    int n = (int)(block.x * block.y * block.z);
    if (n % 32 != 0) throw std::runtime_error("emulator: block size must be a multiple of 32");
    const size_t stackBytes = 128 * 1024;
    g_fibers.resize(n);
    for (auto& fb : g_fibers) if (fb.stack.size() < stackBytes) fb.stack.resize(stackBytes);
    long long blocks = (long long)grid.x * grid.y * grid.z;
    for (long long b = 0; b < blocks; b++) {
        t_bid = unflatten(b, grid);
        g_bar = Bar{n, 0, 0};
        g_warp_bars.assign(n / 32, Bar{32, 0, 0});
        g_xchg.assign(n, 0);
        g_dyn_smem.assign(smem + 16, 0xFF);
        for (int t = 0; t < n; t++) {
            Fiber& fb = g_fibers[t];
            fb.done = false;
            fb.started = false;
            getcontext(&fb.ctx);
            fb.ctx.uc_stack.ss_sp = fb.stack.data();
            fb.ctx.uc_stack.ss_size = fb.stack.size();
            fb.ctx.uc_link = nullptr;
            makecontext(&fb.ctx, fiber_main, 0);
        }
        int live = n;
        while (live > 0)
            for (int t = 0; t < n; t++) {
                if (g_fibers[t].done) continue;
                g_cur = t;
                t_tid = unflatten(t, block);
                if (!_setjmp(g_sched_jb)) {
                    Fiber& fb = g_fibers[t];
                    if (!fb.started) {
                        fb.started = true;
                        setcontext(&fb.ctx);
                    }
                    _longjmp(fb.jb, 1);
                }
                if (g_fibers[t].done) live--;
            }
    }
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

inline void __syncthreads() { emu::bar_wait(emu::g_bar); }
template <typename T> inline T __shfl_xor_sync(unsigned, T v, int o) { return emu::shfl(v, (emu::linear_tid() & 31) ^ o); }
template <typename T> inline T __shfl_up_sync(unsigned, T v, int d) {
    int lane = emu::linear_tid() & 31;
    return emu::shfl(v, lane >= d ? lane - d : lane);
}
inline unsigned __ballot_sync(unsigned, bool p) { return emu::ballot(p); }
inline float atomicAdd(float* p, float v) { float o = *p; *p = o + v; return o; }
inline int atomicExch(int* p, int v) { int o = *p; *p = v; return o; }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
// Round-to-nearest float arithmetic without contraction (the host does not fuse at -O1 without -ffp-contract=fast).
inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
inline float __fdiv_rn(float a, float b) { volatile float r = a / b; return r; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline double __dadd_rn(double a, double b) { volatile double r = a + b; return r; }
inline double __dmul_rn(double a, double b) { volatile double r = a * b; return r; }

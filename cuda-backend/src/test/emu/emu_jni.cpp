// JNI entry points of the kernel emulator (see emu.h): memory, and launches by kernel name with CUDA's
// kernelParams convention. Compiled by CudaEmulatedOpsTest with g++; KERNELS_INC lists K(name) per kernel.
#include "emu.h"
#include "elementwise.cu"
#include "gemm.cu"
#include "conv.cu"
#include "pool.cu"
#include "norm.cu"
#include "softmax.cu"
#include "attention.cu"
#include "lstm.cu"
#include "misc.cu"
#include "spatial3d.cu"
#include "groupnorm.cu"
#include "optim.cu"
#include "codec.cu"
#include "binary.cu"
#include "reduce.cu"
#include "resize.cu"
#include <jni.h>
#include <cstdlib>
#include <map>
#include <string>
#include <type_traits>
#include <utility>

template <typename... A, size_t... I>
static void call(void (*f)(A...), void** a, std::index_sequence<I...>) {
    f(*reinterpret_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(a[I])...);
}

template <typename... A>
static emu::Thunk wrap(void (*f)(A...)) {
    return [f](void** a) { call(f, a, std::index_sequence_for<A...>{}); };
}

struct Entry {
    emu::Thunk thunk;
    bool serial;   // no barriers or warp exchanges: may run on one thread
};

static const std::map<std::string, Entry>& table() {
    static const std::map<std::string, Entry> t = {
#define K(name) {#name, {wrap(name), false}},
#define KS(name) {#name, {wrap(name), true}},
#include KERNELS_INC
#undef K
#undef KS
    };
    return t;
}

extern "C" {
JNIEXPORT jlong JNICALL Java_memplan_cuda_EmuNative_alloc(JNIEnv*, jclass, jlong bytes) {
    void* p = std::malloc(bytes > 0 ? (size_t)bytes : 1);
    if (p) std::memset(p, 0x5A, bytes > 0 ? (size_t)bytes : 1);
    return (jlong)(intptr_t)p;
}

JNIEXPORT void JNICALL Java_memplan_cuda_EmuNative_free(JNIEnv*, jclass, jlong p) { std::free((void*)(intptr_t)p); }

JNIEXPORT void JNICALL Java_memplan_cuda_EmuNative_write(JNIEnv* env, jclass, jlong addr, jfloatArray src, jint from, jint count) {
    env->GetFloatArrayRegion(src, from, count, (jfloat*)(intptr_t)addr);
}

JNIEXPORT void JNICALL Java_memplan_cuda_EmuNative_read(JNIEnv* env, jclass, jlong addr, jfloatArray dst, jint from, jint count) {
    env->SetFloatArrayRegion(dst, from, count, (const jfloat*)(intptr_t)addr);
}

JNIEXPORT void JNICALL Java_memplan_cuda_EmuNative_memset(JNIEnv*, jclass, jlong addr, jbyte v, jlong bytes) {
    std::memset((void*)(intptr_t)addr, (unsigned char)v, (size_t)bytes);
}

JNIEXPORT void JNICALL Java_memplan_cuda_EmuNative_copy(JNIEnv*, jclass, jlong dst, jlong src, jlong bytes) {
    std::memmove((void*)(intptr_t)dst, (const void*)(intptr_t)src, (size_t)bytes);
}

// args: one 8-byte value per parameter (pointers and long long as is; int and float bits in the low 4 bytes).
JNIEXPORT jstring JNICALL Java_memplan_cuda_EmuNative_launch(JNIEnv* env, jclass, jstring jname, jint gx, jint gy, jint gz,
                                                             jint bx, jint by, jint bz, jint smem, jlongArray jargs) {
    const char* cname = env->GetStringUTFChars(jname, nullptr);
    std::string name(cname);
    env->ReleaseStringUTFChars(jname, cname);
    auto it = table().find(name);
    if (it == table().end()) return env->NewStringUTF(("no emulated kernel " + name).c_str());
    jsize n = env->GetArrayLength(jargs);
    std::vector<long long> vals(n);
    env->GetLongArrayRegion(jargs, 0, n, (jlong*)vals.data());
    std::vector<void*> ptrs(n);
    for (jsize i = 0; i < n; i++) ptrs[i] = &vals[i];
    try {
        dim3 grid{(unsigned)gx, (unsigned)gy, (unsigned)gz}, block{(unsigned)bx, (unsigned)by, (unsigned)bz};
        if (it->second.serial) emu::launch_serial(it->second.thunk, grid, block, ptrs.data());
        else emu::launch(it->second.thunk, grid, block, (size_t)smem, ptrs.data());
    } catch (const std::exception& e) {
        return env->NewStringUTF(e.what());
    }
    return nullptr;
}
}

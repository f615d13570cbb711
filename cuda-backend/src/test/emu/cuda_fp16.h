// Emulator stand-in for <cuda_fp16.h>: the four conversions codec.cu uses, through GCC's _Float16 (round to
// nearest even, as __float2half_rn).
#pragma once
#include <cstring>
struct __half { unsigned short x; };
inline __half __float2half_rn(float f) { _Float16 h = (_Float16)f; __half r; std::memcpy(&r.x, &h, 2); return r; }
inline float __half2float(__half h) { _Float16 v; std::memcpy(&v, &h.x, 2); return (float)v; }
inline unsigned short __half_as_ushort(__half h) { return h.x; }
inline __half __ushort_as_half(unsigned short u) { return __half{u}; }

// Pooling and resampling over NCHW planes (NC = N * C planes of H x W).
#include "common.cuh"

// Max pooling; idx gets the argmax as h * W + w within the plane (PyTorch's convention), as int64.
extern "C" __global__ void maxpool_fwd(const float* x, float* y, long long* idx, int NC, int H, int W, int OH, int OW,
                                       int kh, int kw, int sh, int sw, int ph, int pw) {
    long long total = (long long)NC * OH * OW;
    GRID_LOOP(o, total) {
        int ow = (int)(o % OW);
        long long t = o / OW;
        int oh = (int)(t % OH);
        long long plane = t / OH;
        const float* xp = x + plane * H * W;
        int h0 = oh * sh - ph, w0 = ow * sw - pw;
        // As PyTorch: start from -inf at the first in-bounds position; a NaN wins.
        float best = -INFINITY;
        long long bi = (long long)max(h0, 0) * W + max(w0, 0);
        for (int i = 0; i < kh; i++) {
            int h = h0 + i;
            if (h < 0 || h >= H) continue;
            for (int j = 0; j < kw; j++) {
                int w = w0 + j;
                if (w < 0 || w >= W) continue;
                float v = xp[h * W + w];
                if (v > best || isnan(v)) { best = v; bi = (long long)h * W + w; }
            }
        }
        y[o] = best;
        idx[o] = bi;
    }
}

// Max pooling backward from the indices alone: each input element gathers the gradients of the outputs whose
// window covers it and whose argmax it is.
extern "C" __global__ void maxpool_bwd(const long long* idx, const float* gy, float* gx, int NC, int H, int W, int OH,
                                       int OW, int kh, int kw, int sh, int sw, int ph, int pw, int acc) {
    long long total = (long long)NC * H * W;
    GRID_LOOP(e, total) {
        int w = (int)(e % W);
        long long t = e / W;
        int h = (int)(t % H);
        long long plane = t / H;
        long long target = (long long)h * W + w;
        int oh0 = (h + ph < kh) ? 0 : (h + ph - kh) / sh + 1;
        int oh1 = min((h + ph) / sh, OH - 1);
        int ow0 = (w + pw < kw) ? 0 : (w + pw - kw) / sw + 1;
        int ow1 = min((w + pw) / sw, OW - 1);
        float s = 0.f;
        long long base = plane * OH * OW;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++) {
                long long o = base + (long long)oh * OW + ow;
                if (idx[o] == target) s += gy[o];
            }
        store_acc(gx + e, s, acc);
    }
}

// Average pooling with count_include_pad (divisor kh * kw, PyTorch's default).
extern "C" __global__ void avgpool_fwd(const float* x, float* y, int NC, int H, int W, int OH, int OW, int kh, int kw,
                                       int sh, int sw, int ph, int pw) {
    long long total = (long long)NC * OH * OW;
    GRID_LOOP(o, total) {
        int ow = (int)(o % OW);
        long long t = o / OW;
        int oh = (int)(t % OH);
        long long plane = t / OH;
        const float* xp = x + plane * H * W;
        int h0 = oh * sh - ph, w0 = ow * sw - pw;
        float s = 0.f;
        for (int i = 0; i < kh; i++) {
            int h = h0 + i;
            if (h < 0 || h >= H) continue;
            for (int j = 0; j < kw; j++) {
                int w = w0 + j;
                if (w >= 0 && w < W) s += xp[h * W + w];
            }
        }
        y[o] = s / (float)(kh * kw);
    }
}

extern "C" __global__ void avgpool_bwd(const float* gy, float* gx, int NC, int H, int W, int OH, int OW, int kh, int kw,
                                       int sh, int sw, int ph, int pw, int acc) {
    long long total = (long long)NC * H * W;
    float inv = 1.f / (float)(kh * kw);
    GRID_LOOP(e, total) {
        int w = (int)(e % W);
        long long t = e / W;
        int h = (int)(t % H);
        long long plane = t / H;
        int oh0 = (h + ph < kh) ? 0 : (h + ph - kh) / sh + 1;
        int oh1 = min((h + ph) / sh, OH - 1);
        int ow0 = (w + pw < kw) ? 0 : (w + pw - kw) / sw + 1;
        int ow1 = min((w + pw) / sw, OW - 1);
        float s = 0.f;
        long long base = plane * OH * OW;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++) s += gy[base + (long long)oh * OW + ow];
        store_acc(gx + e, s * inv, acc);
    }
}

// Mean over each plane: one warp per plane.
extern "C" __global__ void gap_fwd(const float* x, float* y, int NC, int HW) {
    int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (warp >= NC) return;
    const float* xp = x + (long long)warp * HW;
    float s = 0.f;
    for (int i = lane; i < HW; i += 32) s += xp[i];
    s = warp_sum(s);
    if (lane == 0) y[warp] = s / (float)HW;
}

extern "C" __global__ void gap_bwd(const float* gy, float* gx, long long n, int HW, int acc) {
    float inv = 1.f / (float)HW;
    GRID_LOOP(i, n) store_acc(gx + i, gy[i / HW] * inv, acc);
}

// Nearest-neighbour upsampling by an integer factor s.
extern "C" __global__ void upsample_fwd(const float* x, float* y, int NC, int H, int W, int s) {
    int OH = H * s, OW = W * s;
    long long total = (long long)NC * OH * OW;
    GRID_LOOP(o, total) {
        int ow = (int)(o % OW);
        long long t = o / OW;
        int oh = (int)(t % OH);
        long long plane = t / OH;
        y[o] = x[(plane * H + oh / s) * W + ow / s];
    }
}

extern "C" __global__ void upsample_bwd(const float* gy, float* gx, int NC, int H, int W, int s, int acc) {
    int OW = W * s;
    long long total = (long long)NC * H * W;
    GRID_LOOP(e, total) {
        int w = (int)(e % W);
        long long t = e / W;
        int h = (int)(t % H);
        long long plane = t / H;
        const float* g = gy + (plane * H * s + (long long)h * s) * OW + (long long)w * s;
        float sum = 0.f;
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s; j++) sum += g[(long long)i * OW + j];
        store_acc(gx + e, sum, acc);
    }
}

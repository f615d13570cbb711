// 3-D convolution lowering (vol2col / col2vol per image, then GEMM) and 3-D pooling over NCDHW volumes.
#include "common.cuh"

// The output position whose window reads input z at kernel offset u, or -1 when there is none.
__device__ __forceinline__ int out_index(int z, int u, int s, int p, int d, int out) {
    int t = z + p - u * d;
    if (t < 0 || t % s != 0) return -1;
    int i = t / s;
    return i < out ? i : -1;
}

// col [C kd kh kw, OD OH OW] = the patches of one image x [C, D, H, W].
extern "C" __global__ void vol2col(const float* x, float* col, int C, int D, int H, int W, int kd, int kh, int kw,
                                   int sd, int sh, int sw, int pd, int ph, int pw, int dd, int dh, int dw, int OD,
                                   int OH, int OW) {
    long long total = (long long)C * kd * kh * kw * OD * OH * OW;
    GRID_LOOP(idx, total) {
        int ow = (int)(idx % OW);
        long long t = idx / OW;
        int oh = (int)(t % OH); t /= OH;
        int od = (int)(t % OD); t /= OD;
        int l = (int)(t % kw); t /= kw;
        int j = (int)(t % kh); t /= kh;
        int i = (int)(t % kd);
        int c = (int)(t / kd);
        int z = od * sd - pd + i * dd, h = oh * sh - ph + j * dh, w = ow * sw - pw + l * dw;
        col[idx] = (z >= 0 && z < D && h >= 0 && h < H && w >= 0 && w < W)
                ? x[(((long long)c * D + z) * H + h) * W + w] : 0.f;
    }
}

// gx[c, z, h, w] (+)= the sum of the column entries vol2col took from (c, z, h, w); a gather, no atomics.
extern "C" __global__ void col2vol(const float* col, float* gx, int C, int D, int H, int W, int kd, int kh, int kw,
                                   int sd, int sh, int sw, int pd, int ph, int pw, int dd, int dh, int dw, int OD,
                                   int OH, int OW, int acc) {
    long long total = (long long)C * D * H * W;
    long long ovol = (long long)OD * OH * OW;
    GRID_LOOP(idx, total) {
        int w = (int)(idx % W);
        long long t = idx / W;
        int h = (int)(t % H); t /= H;
        int z = (int)(t % D);
        int c = (int)(t / D);
        float s = 0.f;
        for (int i = 0; i < kd; i++) {
            int od = out_index(z, i, sd, pd, dd, OD);
            if (od < 0) continue;
            for (int j = 0; j < kh; j++) {
                int oh = out_index(h, j, sh, ph, dh, OH);
                if (oh < 0) continue;
                for (int l = 0; l < kw; l++) {
                    int ow = out_index(w, l, sw, pw, dw, OW);
                    if (ow < 0) continue;
                    long long row = (((long long)c * kd + i) * kh + j) * kw + l;
                    s += col[row * ovol + ((long long)od * OH + oh) * OW + ow];
                }
            }
        }
        store_acc(gx + idx, s, acc);
    }
}

// Max pooling; idx gets the argmax as (z * H + h) * W + w within the volume (PyTorch's convention), as int64.
extern "C" __global__ void maxpool3d_fwd(const float* x, float* y, long long* idx, int NC, int D, int H, int W,
                                         int OD, int OH, int OW, int kd, int kh, int kw, int sd, int sh, int sw,
                                         int pd, int ph, int pw) {
    long long total = (long long)NC * OD * OH * OW;
    GRID_LOOP(o, total) {
        int ow = (int)(o % OW);
        long long t = o / OW;
        int oh = (int)(t % OH); t /= OH;
        int od = (int)(t % OD);
        long long plane = t / OD;
        const float* xp = x + plane * D * H * W;
        int z0 = od * sd - pd, h0 = oh * sh - ph, w0 = ow * sw - pw;
        float best = -INFINITY;
        long long bi = -1;
        for (int i = 0; i < kd; i++) {
            int z = z0 + i;
            if (z < 0 || z >= D) continue;
            for (int j = 0; j < kh; j++) {
                int h = h0 + j;
                if (h < 0 || h >= H) continue;
                for (int l = 0; l < kw; l++) {
                    int w = w0 + l;
                    if (w < 0 || w >= W) continue;
                    long long at = ((long long)z * H + h) * W + w;
                    float v = xp[at];
                    if (bi < 0 || v > best || isnan(v)) { best = v; bi = at; }
                    if (isnan(v)) { i = kd; j = kh; break; }
                }
            }
        }
        y[o] = best;
        idx[o] = bi;
    }
}

// Max pooling backward from the indices alone: each input element gathers the gradients of the outputs whose
// window covers it and whose argmax it is.
extern "C" __global__ void maxpool3d_bwd(const long long* idx, const float* gy, float* gx, int NC, int D, int H, int W,
                                         int OD, int OH, int OW, int kd, int kh, int kw, int sd, int sh, int sw,
                                         int pd, int ph, int pw, int acc) {
    long long total = (long long)NC * D * H * W;
    GRID_LOOP(e, total) {
        int w = (int)(e % W);
        long long t = e / W;
        int h = (int)(t % H); t /= H;
        int z = (int)(t % D);
        long long plane = t / D;
        long long target = ((long long)z * H + h) * W + w, base = plane * OD * OH * OW;
        float s = 0.f;
        for (int i = 0; i < kd; i++) {
            int od = out_index(z, i, sd, pd, 1, OD);
            if (od < 0) continue;
            for (int j = 0; j < kh; j++) {
                int oh = out_index(h, j, sh, ph, 1, OH);
                if (oh < 0) continue;
                for (int l = 0; l < kw; l++) {
                    int ow = out_index(w, l, sw, pw, 1, OW);
                    if (ow < 0) continue;
                    long long o = base + ((long long)od * OH + oh) * OW + ow;
                    if (idx[o] == target) s += gy[o];
                }
            }
        }
        store_acc(gx + e, s, acc);
    }
}

// Average pooling with count_include_pad (divisor kd * kh * kw, PyTorch's default).
extern "C" __global__ void avgpool3d_fwd(const float* x, float* y, int NC, int D, int H, int W, int OD, int OH, int OW,
                                         int kd, int kh, int kw, int sd, int sh, int sw, int pd, int ph, int pw) {
    long long total = (long long)NC * OD * OH * OW;
    GRID_LOOP(o, total) {
        int ow = (int)(o % OW);
        long long t = o / OW;
        int oh = (int)(t % OH); t /= OH;
        int od = (int)(t % OD);
        long long plane = t / OD;
        const float* xp = x + plane * D * H * W;
        int z0 = od * sd - pd, h0 = oh * sh - ph, w0 = ow * sw - pw;
        float s = 0.f;
        for (int i = 0; i < kd; i++) {
            int z = z0 + i;
            if (z < 0 || z >= D) continue;
            for (int j = 0; j < kh; j++) {
                int h = h0 + j;
                if (h < 0 || h >= H) continue;
                for (int l = 0; l < kw; l++) {
                    int w = w0 + l;
                    if (w >= 0 && w < W) s += xp[((long long)z * H + h) * W + w];
                }
            }
        }
        y[o] = s * (1.f / (float)(kd * kh * kw));
    }
}

extern "C" __global__ void avgpool3d_bwd(const float* gy, float* gx, int NC, int D, int H, int W, int OD, int OH,
                                         int OW, int kd, int kh, int kw, int sd, int sh, int sw, int pd, int ph,
                                         int pw, int acc) {
    long long total = (long long)NC * D * H * W;
    float inv = 1.f / (float)(kd * kh * kw);
    GRID_LOOP(e, total) {
        int w = (int)(e % W);
        long long t = e / W;
        int h = (int)(t % H); t /= H;
        int z = (int)(t % D);
        long long plane = t / D;
        long long base = plane * OD * OH * OW;
        float s = 0.f;
        for (int i = 0; i < kd; i++) {
            int od = out_index(z, i, sd, pd, 1, OD);
            if (od < 0) continue;
            for (int j = 0; j < kh; j++) {
                int oh = out_index(h, j, sh, ph, 1, OH);
                if (oh < 0) continue;
                for (int l = 0; l < kw; l++) {
                    int ow = out_index(w, l, sw, pw, 1, OW);
                    if (ow >= 0) s += gy[base + ((long long)od * OH + oh) * OW + ow];
                }
            }
        }
        store_acc(gx + e, s * inv, acc);
    }
}

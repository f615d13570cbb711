// Convolution lowering for one image: im2col (gather into [C*kh*kw, OH*OW]) and col2im (gather back, no atomics).
#include "common.cuh"

extern "C" __global__ void im2col(const float* x, float* col, int C, int H, int W, int kh, int kw, int sh, int sw,
                                  int ph, int pw, int dh, int dw, int OH, int OW) {
    long long total = (long long)C * kh * kw * OH * OW;
    GRID_LOOP(idx, total) {
        int ow = (int)(idx % OW);
        long long t = idx / OW;
        int oh = (int)(t % OH); t /= OH;
        int j = (int)(t % kw); t /= kw;
        int i = (int)(t % kh);
        int c = (int)(t / kh);
        int h = oh * sh - ph + i * dh, w = ow * sw - pw + j * dw;
        col[idx] = (h >= 0 && h < H && w >= 0 && w < W) ? x[((long long)c * H + h) * W + w] : 0.f;
    }
}

// gx[c, h, w] (+)= sum of the column entries that im2col took from (c, h, w).
extern "C" __global__ void col2im(const float* col, float* gx, int C, int H, int W, int kh, int kw, int sh, int sw,
                                  int ph, int pw, int dh, int dw, int OH, int OW, int acc) {
    long long total = (long long)C * H * W;
    long long ohw = (long long)OH * OW;
    GRID_LOOP(idx, total) {
        int w = (int)(idx % W);
        long long t = idx / W;
        int h = (int)(t % H);
        int c = (int)(t / H);
        float s = 0.f;
        for (int i = 0; i < kh; i++) {
            int hh = h + ph - i * dh;
            if (hh < 0 || hh % sh != 0) continue;
            int oh = hh / sh;
            if (oh >= OH) continue;
            for (int j = 0; j < kw; j++) {
                int ww = w + pw - j * dw;
                if (ww < 0 || ww % sw != 0) continue;
                int ow = ww / sw;
                if (ow >= OW) continue;
                s += col[(((long long)c * kh + i) * kw + j) * ohw + (long long)oh * OW + ow];
            }
        }
        store_acc(gx + idx, s, acc);
    }
}

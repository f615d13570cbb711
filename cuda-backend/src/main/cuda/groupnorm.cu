// GroupNorm over [N, C, S]: one thread per (image, group) for the statistics, the output and the input gradient, one
// per channel for the parameter gradients; sums in double, in a fixed order (as the CPU kernel).
#include "common.cuh"

// y = (x - mean) * rstd * w[c] + b[c]; mean and rstd per (image, group) into the aux tensors. w, b null: no affine.
extern "C" __global__ void groupnorm_fwd(const float* x, const float* w, const float* b, float* y, float* mean,
                                         float* rstd, int NG, int G, int CG, int S, float eps) {
    long long size = (long long)CG * S;
    GRID_LOOP(ng, NG) {
        const float* xp = x + ng * size;
        double sum = 0, sq = 0;
        for (long long i = 0; i < size; i++) sum += xp[i];
        double mu = sum / (double)size;
        for (long long i = 0; i < size; i++) { double d = xp[i] - mu; sq += d * d; }
        float m = (float)mu, r = (float)(1.0 / sqrt(sq / (double)size + (double)eps));
        mean[ng] = m;
        rstd[ng] = r;
        int c0 = (int)(ng % G) * CG;
        for (int ci = 0; ci < CG; ci++) {
            float sc = w ? r * w[c0 + ci] : r, sh = b ? b[c0 + ci] : 0.f;
            const float* xc = xp + (long long)ci * S;
            float* yc = y + ng * size + (long long)ci * S;
            for (int p = 0; p < S; p++) yc[p] = (xc[p] - m) * sc + sh;
        }
    }
}

// gx (+)= rstd * (gy w - mean(gy w) - xhat mean(gy w xhat)) over each (image, group).
extern "C" __global__ void groupnorm_bwd_dx(const float* x, const float* w, const float* gy, float* gx,
                                            const float* mean, const float* rstd, int NG, int G, int CG, int S,
                                            int acc) {
    long long size = (long long)CG * S;
    GRID_LOOP(ng, NG) {
        double m = mean[ng], r = rstd[ng], sumD = 0, sumDX = 0;
        int c0 = (int)(ng % G) * CG;
        for (int ci = 0; ci < CG; ci++) {
            double wc = w ? w[c0 + ci] : 1.0;
            long long o = ng * size + (long long)ci * S;
            for (int p = 0; p < S; p++) {
                double d = gy[o + p] * wc;
                sumD += d;
                sumDX += d * (x[o + p] - m) * r;
            }
        }
        double meanD = sumD / (double)size, meanDX = sumDX / (double)size;
        for (int ci = 0; ci < CG; ci++) {
            double wc = w ? w[c0 + ci] : 1.0;
            long long o = ng * size + (long long)ci * S;
            for (int p = 0; p < S; p++) {
                double xh = (x[o + p] - m) * r;
                store_acc(gx + o + p, (float)(r * (gy[o + p] * wc - meanD - xh * meanDX)), acc);
            }
        }
    }
}

// gw[c] (+)= sum of gy xhat, gb[c] (+)= sum of gy over images and positions; gw or gb null: not wanted.
extern "C" __global__ void groupnorm_bwd_params(const float* x, const float* gy, float* gw, float* gb,
                                                const float* mean, const float* rstd, int N, int C, int G, int S,
                                                int accW, int accB) {
    int CG = C / G;
    GRID_LOOP(c, C) {
        double sw = 0, sb = 0;
        for (int n = 0; n < N; n++) {
            long long ng = (long long)n * G + c / CG, o = ((long long)n * C + c) * S;
            double m = mean[ng], r = rstd[ng];
            for (int p = 0; p < S; p++) {
                double dy = gy[o + p];
                sw += dy * (x[o + p] - m) * r;
                sb += dy;
            }
        }
        if (gw) store_acc(gw + c, (float)sw, accW);
        if (gb) store_acc(gb + c, (float)sb, accB);
    }
}

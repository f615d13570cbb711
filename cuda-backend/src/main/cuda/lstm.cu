// LSTMCell pointwise parts (gate order i, f, g, o as PyTorch); the matrix products run on sgemm.
#include "common.cuh"

__device__ __forceinline__ float sigm(float x) { return 1.f / (1.f + expf(-x)); }

// gates [N, 4H] holds x W_ih^T + h W_hh^T; adds the biases, activates in place (the aux "gates"),
// and writes c' = f c + i g, h' = o tanh(c').
extern "C" __global__ void lstm_fwd_pw(float* gates, const float* bih, const float* bhh, const float* c, float* cNew,
                                       float* hNew, int N, int H) {
    long long n = (long long)N * H;
    GRID_LOOP(idx, n) {
        long long b = idx / H;
        int k = (int)(idx % H);
        float* gr = gates + b * 4 * H;
        float gi = sigm(gr[k] + bih[k] + bhh[k]);
        float gf = sigm(gr[H + k] + bih[H + k] + bhh[H + k]);
        float gg = tanhf(gr[2 * H + k] + bih[2 * H + k] + bhh[2 * H + k]);
        float go = sigm(gr[3 * H + k] + bih[3 * H + k] + bhh[3 * H + k]);
        gr[k] = gi; gr[H + k] = gf; gr[2 * H + k] = gg; gr[3 * H + k] = go;
        float cn = gf * c[idx] + gi * gg;
        cNew[idx] = cn;
        hNew[idx] = go * tanhf(cn);
    }
}

// Turns the activated gates into the gradients of the pre-activations, in place, from dh' and dc' (either may be
// null), and writes dc (+)= dc_total * f when gcIn is not null.
extern "C" __global__ void lstm_bwd_pw(float* gates, const float* c, const float* cNew, const float* gh,
                                       const float* gcNew, float* gcIn, int N, int H, int accC) {
    long long n = (long long)N * H;
    GRID_LOOP(idx, n) {
        long long b = idx / H;
        int k = (int)(idx % H);
        float* gr = gates + b * 4 * H;
        float gi = gr[k], gf = gr[H + k], gg = gr[2 * H + k], go = gr[3 * H + k];
        float tc = tanhf(cNew[idx]);
        float dh = gh ? gh[idx] : 0.f;
        float dc = (gcNew ? gcNew[idx] : 0.f) + dh * go * (1.f - tc * tc);
        gr[k] = dc * gg * gi * (1.f - gi);
        gr[H + k] = dc * c[idx] * gf * (1.f - gf);
        gr[2 * H + k] = dc * gi * (1.f - gg * gg);
        gr[3 * H + k] = dh * tc * go * (1.f - go);
        if (gcIn) store_acc(gcIn + idx, dc * gf, accC);
    }
}

// Fused scaled dot-product attention over q [N, Tq, D] split into H heads of dh = D / H columns, k, v [N, Tk, Dk]
// with Dk = H / group * dh: query head h reads key/value head h / group (grouped-query attention; group 1 = MHA).
// No T x T buffer: one warp per query row (forward, dQ) or key row (dK, dV) with an online softmax, key/query tiles
// staged in shared memory. lse [N, H, Tq] (fp32) = log sum_j exp(scale * q.k_j), natural log. Causal keeps j <= i
// (top-left aligned, as PyTorch's is_causal). dh <= 32 * ATT_MAXR.
#include "common.cuh"

#define ATT_WARPS 8
#define ATT_MAXR 8

extern "C" __global__ void __launch_bounds__(256) attn_fwd(const float* Q, const float* K, const float* V, float* O,
        float* lse, int Tq, int Tk, int D, int H, int dh, int causal, float scale, int tile, int group, int Dk) {
    DYN_SMEM(float, smem);
    float* Ks = smem;
    float* Vs = smem + tile * dh;
    int bh = blockIdx.y, n = bh / H, h = bh % H;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int i = blockIdx.x * ATT_WARPS + warp;
    bool active = i < Tq;
    int R = (dh + 31) >> 5;
    const float* qrow = Q + ((long long)n * Tq + i) * D + (long long)h * dh;
    float q[ATT_MAXR], o[ATT_MAXR];
    #pragma unroll
    for (int r = 0; r < ATT_MAXR; r++) {
        int d = lane + 32 * r;
        q[r] = (active && r < R && d < dh) ? qrow[d] * scale : 0.f;
        o[r] = 0.f;
    }
    float m = -INFINITY, l = 0.f;
    int last = Tk;
    if (causal) last = min(Tk, min(blockIdx.x * ATT_WARPS + ATT_WARPS - 1, Tq - 1) + 1);
    const float* Kb = K + (long long)n * Tk * Dk + (long long)(h / group) * dh;
    const float* Vb = V + (long long)n * Tk * Dk + (long long)(h / group) * dh;
    for (int j0 = 0; j0 < last; j0 += tile) {
        int jn = min(tile, last - j0);
        __syncthreads();
        for (int e = threadIdx.x; e < jn * dh; e += blockDim.x) {
            int jj = e / dh, d = e % dh;
            Ks[e] = Kb[(long long)(j0 + jj) * Dk + d];
            Vs[e] = Vb[(long long)(j0 + jj) * Dk + d];
        }
        __syncthreads();
        if (!active) continue;
        int jend = causal ? min(jn, i - j0 + 1) : jn;
        for (int jj = 0; jj < jend; jj++) {
            const float* kr = Ks + jj * dh;
            const float* vr = Vs + jj * dh;
            float s = 0.f;
            #pragma unroll
            for (int r = 0; r < ATT_MAXR; r++) {
                int d = lane + 32 * r;
                if (r < R && d < dh) s += q[r] * kr[d];
            }
            s = warp_sum(s);
            float mn = fmaxf(m, s);
            float corr = expf(m - mn), p = expf(s - mn);
            l = l * corr + p;
            #pragma unroll
            for (int r = 0; r < ATT_MAXR; r++) {
                int d = lane + 32 * r;
                if (r < R && d < dh) o[r] = o[r] * corr + p * vr[d];
            }
            m = mn;
        }
    }
    if (!active) return;
    float inv = l > 0.f ? 1.f / l : 0.f;
    float* orow = O + ((long long)n * Tq + i) * D + (long long)h * dh;
    #pragma unroll
    for (int r = 0; r < ATT_MAXR; r++) {
        int d = lane + 32 * r;
        if (r < R && d < dh) orow[d] = o[r] * inv;
    }
    if (lane == 0) lse[(long long)bh * Tq + i] = l > 0.f ? m + logf(l) : -INFINITY;
}

// dQ: one warp per query row. p = exp(s - lse), dp = dO.v, ds = p (dp - Di) with Di = dO.O, dQ = scale sum ds k.
extern "C" __global__ void __launch_bounds__(256) attn_bwd_dq(const float* Q, const float* K, const float* V,
        const float* O, const float* dO, const float* lse, float* dQ, int Tq, int Tk, int D, int H, int dh,
        int causal, float scale, int tile, int acc, int group, int Dk) {
    DYN_SMEM(float, smem);
    float* Ks = smem;
    float* Vs = smem + tile * dh;
    int bh = blockIdx.y, n = bh / H, h = bh % H;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int i = blockIdx.x * ATT_WARPS + warp;
    bool active = i < Tq;
    int R = (dh + 31) >> 5;
    long long rowOff = ((long long)n * Tq + (active ? i : 0)) * D + (long long)h * dh;
    float q[ATT_MAXR], g[ATT_MAXR], dq[ATT_MAXR];
    float di = 0.f;
    #pragma unroll
    for (int r = 0; r < ATT_MAXR; r++) {
        int d = lane + 32 * r;
        bool ok = active && r < R && d < dh;
        q[r] = ok ? Q[rowOff + d] * scale : 0.f;
        g[r] = ok ? dO[rowOff + d] : 0.f;
        di += ok ? g[r] * O[rowOff + d] : 0.f;
        dq[r] = 0.f;
    }
    di = warp_sum(di);
    float li = active ? lse[(long long)bh * Tq + i] : 0.f;
    int last = Tk;
    if (causal) last = min(Tk, min(blockIdx.x * ATT_WARPS + ATT_WARPS - 1, Tq - 1) + 1);
    const float* Kb = K + (long long)n * Tk * Dk + (long long)(h / group) * dh;
    const float* Vb = V + (long long)n * Tk * Dk + (long long)(h / group) * dh;
    for (int j0 = 0; j0 < last; j0 += tile) {
        int jn = min(tile, last - j0);
        __syncthreads();
        for (int e = threadIdx.x; e < jn * dh; e += blockDim.x) {
            int jj = e / dh, d = e % dh;
            Ks[e] = Kb[(long long)(j0 + jj) * Dk + d];
            Vs[e] = Vb[(long long)(j0 + jj) * Dk + d];
        }
        __syncthreads();
        if (!active) continue;
        int jend = causal ? min(jn, i - j0 + 1) : jn;
        for (int jj = 0; jj < jend; jj++) {
            const float* kr = Ks + jj * dh;
            const float* vr = Vs + jj * dh;
            float s = 0.f, dp = 0.f;
            #pragma unroll
            for (int r = 0; r < ATT_MAXR; r++) {
                int d = lane + 32 * r;
                if (r < R && d < dh) { s += q[r] * kr[d]; dp += g[r] * vr[d]; }
            }
            s = warp_sum(s);
            dp = warp_sum(dp);
            float ds = expf(s - li) * (dp - di);
            #pragma unroll
            for (int r = 0; r < ATT_MAXR; r++) {
                int d = lane + 32 * r;
                if (r < R && d < dh) dq[r] += ds * kr[d];
            }
        }
    }
    if (!active) return;
    #pragma unroll
    for (int r = 0; r < ATT_MAXR; r++) {
        int d = lane + 32 * r;
        if (r < R && d < dh) store_acc(dQ + rowOff + d, dq[r] * scale, acc);
    }
}

// dK, dV: one warp per key row j of one key/value head (blockIdx.y = n * H / group + kv head), looping over the
// group's query heads and their query tiles (queries i >= j only when causal).
// dV = sum_h sum_i p_ij dO_i, dK = scale sum_h sum_i ds_ij q_i. dK or dV may be null.
extern "C" __global__ void __launch_bounds__(256) attn_bwd_dkv(const float* Q, const float* K, const float* V,
        const float* O, const float* dO, const float* lse, float* dK, float* dV, int Tq, int Tk, int D, int H,
        int dh, int causal, float scale, int tile, int accK, int accV, int group, int Dk) {
    DYN_SMEM(float, smem);
    float* Qs = smem;
    float* Gs = smem + tile * dh;
    float* Ls = Gs + tile * dh;
    float* Ds = Ls + tile;
    int Hkv = H / group, n = blockIdx.y / Hkv, kh = blockIdx.y % Hkv;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int j = blockIdx.x * ATT_WARPS + warp;
    bool active = j < Tk;
    int R = (dh + 31) >> 5;
    long long keyOff = ((long long)n * Tk + (active ? j : 0)) * Dk + (long long)kh * dh;
    float k[ATT_MAXR], v[ATT_MAXR], dk[ATT_MAXR], dv[ATT_MAXR];
    #pragma unroll
    for (int r = 0; r < ATT_MAXR; r++) {
        int d = lane + 32 * r;
        bool ok = active && r < R && d < dh;
        k[r] = ok ? K[keyOff + d] * scale : 0.f;
        v[r] = ok ? V[keyOff + d] : 0.f;
        dk[r] = 0.f;
        dv[r] = 0.f;
    }
    int first = causal ? min(blockIdx.x * ATT_WARPS, Tq) : 0;
    for (int h = kh * group; h < (kh + 1) * group; h++) {
    int bh = n * H + h;
    const float* Qb = Q + (long long)n * Tq * D + (long long)h * dh;
    const float* Gb = dO + (long long)n * Tq * D + (long long)h * dh;
    const float* Ob = O + (long long)n * Tq * D + (long long)h * dh;
    for (int i0 = first; i0 < Tq; i0 += tile) {
        int in = min(tile, Tq - i0);
        __syncthreads();
        for (int e = threadIdx.x; e < in * dh; e += blockDim.x) {
            int ii = e / dh, d = e % dh;
            Qs[e] = Qb[(long long)(i0 + ii) * D + d];
            Gs[e] = Gb[(long long)(i0 + ii) * D + d];
        }
        for (int ii = threadIdx.x; ii < in; ii += blockDim.x) Ls[ii] = lse[(long long)bh * Tq + i0 + ii];
        __syncthreads();
        for (int ii = warp; ii < in; ii += ATT_WARPS) {   // Di = dO_i . O_i
            float s = 0.f;
            for (int d = lane; d < dh; d += 32) s += Gs[ii * dh + d] * Ob[(long long)(i0 + ii) * D + d];
            s = warp_sum(s);
            if (lane == 0) Ds[ii] = s;
        }
        __syncthreads();
        if (!active) continue;
        int istart = causal ? max(0, j - i0) : 0;
        for (int ii = istart; ii < in; ii++) {
            const float* qr = Qs + ii * dh;
            const float* gr = Gs + ii * dh;
            float s = 0.f, dp = 0.f;
            #pragma unroll
            for (int r = 0; r < ATT_MAXR; r++) {
                int d = lane + 32 * r;
                if (r < R && d < dh) { s += k[r] * qr[d]; dp += v[r] * gr[d]; }
            }
            s = warp_sum(s);
            dp = warp_sum(dp);
            float p = expf(s - Ls[ii]);
            float ds = p * (dp - Ds[ii]);
            #pragma unroll
            for (int r = 0; r < ATT_MAXR; r++) {
                int d = lane + 32 * r;
                if (r < R && d < dh) { dv[r] += p * gr[d]; dk[r] += ds * qr[d]; }
            }
        }
    }
    }   // heads of the group
    if (!active) return;
    #pragma unroll
    for (int r = 0; r < ATT_MAXR; r++) {
        int d = lane + 32 * r;
        if (r < R && d < dh) {
            if (dK) store_acc(dK + keyOff + d, dk[r] * scale, accK);
            if (dV) store_acc(dV + keyOff + d, dv[r], accV);
        }
    }
}

// ---------------------------------------------------------------------------------------------- eager form
// The eager form keeps the probabilities P [N, H, Tq, Tk] (and, for grouped heads, k and v repeated to every head);
// its forward runs attn_fwd (lse in scratch) and then writes P; backward works from P without recomputing it.

// P = exp(scale q_i . k_j - lse_i), 0 where masked or where a row sees no key. One thread per element.
extern "C" __global__ void attn_probs(const float* Q, const float* K, const float* lse, float* P, long long total,
        int Tq, int Tk, int D, int Dk, int H, int group, int dh, int causal, float scale) {
    GRID_LOOP(e, total) {
        int j = (int)(e % Tk);
        long long r = e / Tk;
        int i = (int)(r % Tq);
        long long bh = r / Tq;
        int h = (int)(bh % H);
        long long n = bh / H;
        float l = lse[r];
        if ((causal && j > i) || l == -INFINITY) { P[e] = 0.f; continue; }
        const float* q = Q + (n * Tq + i) * D + (long long)h * dh;
        const float* k = K + (n * Tk + j) * Dk + (long long)(h / group) * dh;
        float s = 0.f;
        for (int d = 0; d < dh; d++) s += q[d] * scale * k[d];
        P[e] = expf(s - l);
    }
}

// R [rows, D] = K [rows, Dk] repeated to every query head (Hugging Face's repeat_kv).
extern "C" __global__ void kv_repeat(const float* K, float* R, long long total, int D, int Dk, int group, int dh) {
    GRID_LOOP(e, total) {
        long long row = e / D;
        int c = (int)(e % D), h = c / dh;
        R[e] = K[row * Dk + (long long)(h / group) * dh + c % dh];
    }
}

// dP_ij = dO_i . v_j per (n, h, i, j), into DS. V is [N, Tk, Dv] with head h at column (h / group) * dh.
extern "C" __global__ void eager_dp(const float* dO, const float* V, float* DS, long long total, int Tq, int Tk,
        int D, int Dv, int H, int group, int dh) {
    GRID_LOOP(e, total) {
        int j = (int)(e % Tk);
        long long r = e / Tk;
        int i = (int)(r % Tq);
        long long bh = r / Tq;
        int h = (int)(bh % H);
        long long n = bh / H;
        const float* g = dO + (n * Tq + i) * D + (long long)h * dh;
        const float* v = V + (n * Tk + j) * Dv + (long long)(h / group) * dh;
        float s = 0.f;
        for (int d = 0; d < dh; d++) s += g[d] * v[d];
        DS[e] = s;
    }
}

// In place per row: dS = P (dP - sum_j dP P) * scale. One block per (n, h, i) row.
extern "C" __global__ void eager_ds(const float* P, float* DS, int Tk, float scale) {
    long long r = blockIdx.x;
    const float* p = P + r * Tk;
    float* ds = DS + r * Tk;
    double s = 0.0;
    for (int j = threadIdx.x; j < Tk; j += blockDim.x) s += (double)ds[j] * p[j];
    float di = (float)block_sum_d(s);
    for (int j = threadIdx.x; j < Tk; j += blockDim.x) ds[j] = p[j] * (ds[j] - di) * scale;
}

// dQ [N, Tq, D] = dS K per head; K [N, Tk, Dk] with head h at column (h / group) * dh. One thread per element.
extern "C" __global__ void eager_dq(const float* DS, const float* K, float* dQ, long long total, int Tq, int Tk,
        int D, int Dk, int H, int group, int dh, int acc) {
    GRID_LOOP(e, total) {
        int c = (int)(e % D), h = c / dh, d = c % dh;
        long long row = e / D;
        int i = (int)(row % Tq);
        long long n = row / Tq;
        const float* ds = DS + ((n * H + h) * Tq + i) * Tk;
        const float* k = K + n * Tk * Dk + (long long)(h / group) * dh + d;
        float s = 0.f;
        for (int j = 0; j < Tk; j++) s += ds[j] * k[(long long)j * Dk];
        store_acc(dQ + e, s, acc);
    }
}

// dK, dV [N, Tk, Dk]: summed over the group's query heads, dK = dS^T Q, dV = P^T dO. dK or dV may be null (no dK:
// Q and dS may be null too).
extern "C" __global__ void eager_dkv(const float* DS, const float* P, const float* Q, const float* dO, float* dK,
        float* dV, long long total, int Tq, int Tk, int D, int Dk, int H, int group, int dh, int accK, int accV) {
    GRID_LOOP(e, total) {
        int c = (int)(e % Dk), kh = c / dh, d = c % dh;
        long long row = e / Dk;
        int j = (int)(row % Tk);
        long long n = row / Tk;
        float sk = 0.f, sv = 0.f;
        for (int h = kh * group; h < (kh + 1) * group; h++) {
            long long base = (n * H + h) * Tq * (long long)Tk + j;
            const float* q = Q + n * Tq * D + (long long)h * dh + d;
            const float* g = dO + n * Tq * D + (long long)h * dh + d;
            for (int i = 0; i < Tq; i++) {
                long long t = base + (long long)i * Tk;
                if (dK) sk += DS[t] * q[(long long)i * D];   // Q is kept only for dK
                sv += P[t] * g[(long long)i * D];
            }
        }
        if (dK) store_acc(dK + e, sk, accK);
        if (dV) store_acc(dV + e, sv, accV);
    }
}

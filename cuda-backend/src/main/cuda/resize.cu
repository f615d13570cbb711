// Resize (nearest, linear, cubic over up to 3 spatial axes of [N, C, ...]) and Flip. The taps of an output
// coordinate follow memplan.ops.Resize#taps exactly (the CPU reference); the backward gathers, per input element,
// from the outputs whose taps read it (a range found by bisection, since taps move monotonically), so no atomics.
#include "common.cuh"

// Modes and coordinate transformations in the order of Resize.MODES, Resize.COORDINATES and Resize.ROUNDINGS.
#define RS_NEAREST 0
#define RS_LINEAR 1
#define RS_CUBIC 2

struct RsAxis {
    int in, out;
    double scale;   // the factor of the coordinate transformation (the size ratio when the op has no scales)
};

struct RsTaps {
    int n;
    int idx[4];
    double w[4];
};

__device__ __forceinline__ double rs_source(int coord, const RsAxis& a, int o) {
    double s = a.scale;
    switch (coord) {
        case 2: return a.out == 1 ? 0.0 : (double)o * (a.in - 1) / (a.out - 1);        // align_corners
        case 3: return o / s;                                                          // asymmetric
        case 1: return a.out > 1 ? (o + 0.5) / s - 0.5 : 0.0;                          // pytorch_half_pixel
        case 4: return (o + 0.5) / s;                                                  // tf_half_pixel_for_nn
        case 5: {                                                                      // half_pixel_symmetric
            double adj = a.out / (s * a.in), center = a.in / 2.0, off = center * (1 - adj);
            return off + (o + 0.5) / s - 0.5;
        }
        default: return (o + 0.5) / s - 0.5;                                           // half_pixel
    }
}

__device__ __forceinline__ int rs_clamp(long long i, int n) {
    return (int)(i < 0 ? 0 : i > n - 1 ? n - 1 : i);
}

__device__ __forceinline__ double rs_cubic(double a, double d) {
    d = fabs(d);
    if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
    if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
    return 0;
}

__device__ void rs_taps(int mode, int coord, int nearest, double ca, int exclude, const RsAxis& a, int o, RsTaps& t) {
    double x = rs_source(coord, a, o);
    if (mode == RS_NEAREST) {
        double r = nearest == 1 ? floor(x + 0.5) : nearest == 2 ? floor(x) : nearest == 3 ? ceil(x) : ceil(x - 0.5);
        t.n = 1;
        t.idx[0] = rs_clamp((long long)r, a.in);
        t.w[0] = 1;
    } else if (mode == RS_LINEAR) {
        double c = fmin(fmax(x, 0.0), (double)(a.in - 1));
        int i0 = (int)floor(c);
        double l = c - i0;
        t.n = 2;
        t.idx[0] = i0;
        t.idx[1] = i0 + 1 < a.in ? i0 + 1 : a.in - 1;
        t.w[0] = 1 - l;
        t.w[1] = l;
    } else {
        double f = floor(x), l = x - f;
        double c[4] = {rs_cubic(ca, l + 1), rs_cubic(ca, l), rs_cubic(ca, 1 - l), rs_cubic(ca, 2 - l)};
        double sum = 0;
        t.n = 4;
        for (int k = 0; k < 4; k++) {
            long long i = (long long)f - 1 + k;
            if (exclude && (i < 0 || i >= a.in)) c[k] = 0;
            sum += c[k];
            t.idx[k] = rs_clamp(i, a.in);
        }
        for (int k = 0; k < 4; k++) t.w[k] = exclude ? c[k] / sum : c[k];
    }
}

// Axes padded to three: a padded axis (in = out = 1, scale 0) is one tap of weight 1.
__device__ __forceinline__ void rs_axis_taps(int mode, int coord, int nearest, double ca, int exclude, const RsAxis& a,
                                             int o, RsTaps& t) {
    if (a.scale == 0) {
        t.n = 1;
        t.idx[0] = 0;
        t.w[0] = 1;
    } else rs_taps(mode, coord, nearest, ca, exclude, a, o, t);
}

#define RS_AXES \
    const RsAxis ax[3] = {{D, OD, sd}, {H, OH, sh}, {W, OW, sw}}

extern "C" __global__ void resize_fwd(const float* x, float* y, int NC, int D, int H, int W, int OD, int OH, int OW,
                                      int mode, int coord, int nearest, double sd, double sh, double sw, double ca,
                                      int exclude) {
    RS_AXES;
    long long ovol = (long long)OD * OH * OW, total = (long long)NC * ovol;
    GRID_LOOP(i, total) {
        long long t = i;
        int ow = (int)(t % OW); t /= OW;
        int oh = (int)(t % OH); t /= OH;
        int od = (int)(t % OD);
        long long plane = t / OD;
        RsTaps td, th, tw;
        rs_axis_taps(mode, coord, nearest, ca, exclude, ax[0], od, td);
        rs_axis_taps(mode, coord, nearest, ca, exclude, ax[1], oh, th);
        rs_axis_taps(mode, coord, nearest, ca, exclude, ax[2], ow, tw);
        const float* xp = x + plane * D * H * W;
        double sum = 0;
        for (int u = 0; u < td.n; u++)
            for (int v = 0; v < th.n; v++) {
                double wh = td.w[u] * th.w[v];
                long long row = ((long long)td.idx[u] * H + th.idx[v]) * W;
                for (int k = 0; k < tw.n; k++) sum += wh * tw.w[k] * xp[row + tw.idx[k]];
            }
        y[i] = (float)sum;
    }
}

// The first output coordinate whose last tap reaches input coordinate c and the last whose first tap does not pass
// it: every output reading c lies in [lo, hi] (taps never move back as o grows).
__device__ void rs_range(int mode, int coord, int nearest, double ca, int exclude, const RsAxis& a, int c, int& lo,
                         int& hi) {
    RsTaps t;
    int l = 0, r = a.out;   // first o with last tap >= c
    while (l < r) {
        int m = (l + r) / 2;
        rs_axis_taps(mode, coord, nearest, ca, exclude, a, m, t);
        if (t.idx[t.n - 1] >= c) r = m; else l = m + 1;
    }
    lo = l;
    l = 0;
    r = a.out;              // first o with first tap > c
    while (l < r) {
        int m = (l + r) / 2;
        rs_axis_taps(mode, coord, nearest, ca, exclude, a, m, t);
        if (t.idx[0] > c) r = m; else l = m + 1;
    }
    hi = l - 1;
}

// The weight output coordinate o gives input coordinate c (taps clamped to the same index add up).
__device__ __forceinline__ double rs_weight(int mode, int coord, int nearest, double ca, int exclude, const RsAxis& a,
                                            int o, int c) {
    RsTaps t;
    rs_axis_taps(mode, coord, nearest, ca, exclude, a, o, t);
    double w = 0;
    for (int k = 0; k < t.n; k++) if (t.idx[k] == c) w += t.w[k];
    return w;
}

extern "C" __global__ void resize_bwd(const float* gy, float* gx, int NC, int D, int H, int W, int OD, int OH, int OW,
                                      int mode, int coord, int nearest, double sd, double sh, double sw, double ca,
                                      int exclude, int acc) {
    RS_AXES;
    long long vol = (long long)D * H * W, total = (long long)NC * vol;
    GRID_LOOP(i, total) {
        long long t = i;
        int w = (int)(t % W); t /= W;
        int h = (int)(t % H); t /= H;
        int d = (int)(t % D);
        long long plane = t / D;
        int dlo, dhi, hlo, hhi, wlo, whi;
        rs_range(mode, coord, nearest, ca, exclude, ax[0], d, dlo, dhi);
        rs_range(mode, coord, nearest, ca, exclude, ax[1], h, hlo, hhi);
        rs_range(mode, coord, nearest, ca, exclude, ax[2], w, wlo, whi);
        const float* gp = gy + plane * OD * OH * OW;
        double sum = 0;
        for (int od = dlo; od <= dhi; od++) {
            double wd = rs_weight(mode, coord, nearest, ca, exclude, ax[0], od, d);
            if (wd == 0) continue;
            for (int oh = hlo; oh <= hhi; oh++) {
                double wh = wd * rs_weight(mode, coord, nearest, ca, exclude, ax[1], oh, h);
                if (wh == 0) continue;
                long long row = ((long long)od * OH + oh) * OW;
                for (int ow = wlo; ow <= whi; ow++) {
                    double ww = rs_weight(mode, coord, nearest, ca, exclude, ax[2], ow, w);
                    if (ww != 0) sum += wh * ww * gp[row + ow];
                }
            }
        }
        store_acc(gx + i, (float)sum, acc);
    }
}

// dst (+)= src reversed along the axes whose bit is set in mask (bit k = dim k of the 6 padded dims d0..d5).
extern "C" __global__ void flip_copy(const float* src, float* dst, long long n, int acc, int mask, int d0, int d1,
                                     int d2, int d3, int d4, int d5) {
    const long long dd[6] = {d0, d1, d2, d3, d4, d5};
    GRID_LOOP(i, n) {
        long long t = i, j = 0, st = 1;
        for (int k = 5; k >= 0; k--) {
            long long c = t % dd[k];
            t /= dd[k];
            j += ((mask >> k) & 1 ? dd[k] - 1 - c : c) * st;
            st *= dd[k];
        }
        store_acc(dst + i, src[j], acc);
    }
}

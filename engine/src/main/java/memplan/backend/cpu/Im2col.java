package memplan.backend.cpu;

import java.util.Arrays;

/**
 * The unfolding of sliding windows into columns that Conv2d (of its input) and ConvTranspose2d (of its output
 * gradient) both multiply with GEMM: row r = (channel, u, v) holds, for each window position (i, j), the source
 * element at (i*sh - ph + u*dh, j*sw - pw + v*dw), zero outside the plane.
 */
record Im2col(int srcH, int srcW, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int outH, int outW) {

    int kk() {
        return kh * kw;
    }

    /** Fills rows [from, to) of the columns at dstBase from the planes at srcBase (channel-major). */
    void rows(float[] src, int srcBase, float[] dst, int dstBase, int from, int to) {
        int plane = srcH * srcW, cols = outH * outW;
        for (int r = from; r < to; r++) {
            int c = r / kk(), u = (r % kk()) / kw, v = r % kw;
            int sc = srcBase + c * plane, cr = dstBase + r * cols;
            for (int i = 0; i < outH; i++) {
                int hi = i * sh - ph + u * dh;
                int d = cr + i * outW;
                if (hi < 0 || hi >= srcH) {
                    Arrays.fill(dst, d, d + outW, 0f);
                    continue;
                }
                int sr = sc + hi * srcW;
                for (int j = 0; j < outW; j++) {
                    int wi = j * sw - pw + v * dw;
                    dst[d + j] = wi >= 0 && wi < srcW ? src[sr + wi] : 0f;
                }
            }
        }
    }
}

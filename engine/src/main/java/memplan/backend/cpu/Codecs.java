package memplan.backend.cpu;

import memplan.backend.Codec;

/**
 * Encodings of kept activations, with sizes that are exact functions of the element count (they equal
 * {@link Codec#encodedBytes}), so a planner can predict them. Encoded data lives in float slots of the arena:
 * <ul>
 * <li>MASK_1BIT: {@code maskBytes(n) = 4 * ceil(n / 32)} (= ceil(n/8) rounded up to 4 bytes). Bit i (slot i/32,
 * bit i%32, i.e. byte i/8 bit i%8 little-endian) is {@code y[i] > 0}; decoding writes 1.0f / 0.0f, exact for
 * ReLU backward's y > 0 test and for index-based MaxPool backward.</li>
 * <li>SPARSE: {@code sparseBytes(n, d) = maskBytes(n) + 4 * ceil(n * d)}: a bitmap (bit i = the element's bits are
 * not +0.0f) followed by the non-zero values in order, with room for {@code sparseCapacity(n, d) = ceil(n * d)}
 * of them. Decoding is bit-exact. Encoding throws {@link SparseCapacityException} (tensor name, actual density,
 * capacity) when the non-zeros do not fit.</li>
 * <li>FP16 / BF16: {@code halfBytes(n) = 4 * ceil(n / 2)}: two 16-bit values per slot (element i in the low half
 * when i is even), rounded to nearest even; NaN stays NaN, overflow becomes infinity.</li>
 * </ul>
 * Sources and destinations of fp32 data are FP32 Bufs; the encoded side may be a Buf of any dtype with enough
 * slots (only its data and offset are used).
 */
public final class Codecs {
    private static final int CHUNK_WORDS = 256; // 8192 elements per parallel chunk

    private Codecs() {
    }

    public static long maskBytes(long numel) {
        return 4 * maskSlots(numel);
    }

    static long maskSlots(long numel) {
        return (numel + 31) / 32;
    }

    /** Values a sparse encoding has room for: ceil(numel * density), at most numel. */
    public static long sparseCapacity(long numel, double density) {
        if (density < 0 || Double.isNaN(density))
            throw new IllegalArgumentException("density must be >= 0, got " + density);
        return Math.min(numel, (long) Math.ceil(numel * density));
    }

    public static long sparseBytes(long numel, double density) {
        return maskBytes(numel) + 4 * (long) Math.ceil(numel * density);
    }

    public static long halfBytes(long numel) {
        return 4 * ((numel + 1) / 2);
    }

    /** Bytes of a codec's encoded form (the same as {@link Codec#encodedBytes}). */
    public static long encodedBytes(Codec codec, long numel, double density) {
        return switch (codec) {
            case MASK_1BIT -> maskBytes(numel);
            case SPARSE -> sparseBytes(numel, density);
            case FP16, BF16 -> halfBytes(numel);
        };
    }

    public static void encode(Codec codec, Buf src, Buf dst, double density, String tensorName) {
        switch (codec) {
            case MASK_1BIT -> encodeMask(src, dst);
            case SPARSE -> encodeSparse(src, dst, density, tensorName);
            case FP16 -> encodeHalf(src, dst, false);
            case BF16 -> encodeHalf(src, dst, true);
        }
    }

    public static void decode(Codec codec, Buf src, Buf dst, double density) {
        switch (codec) {
            case MASK_1BIT -> decodeMask(src, dst);
            case SPARSE -> decodeSparse(src, dst, density);
            case FP16 -> decodeHalf(src, dst, false);
            case BF16 -> decodeHalf(src, dst, true);
        }
    }

    private static void room(Buf enc, long bytes, String what) {
        if (4L * enc.slots() < bytes)
            throw new IllegalArgumentException(what + ": the encoded buffer has " + 4L * enc.slots()
                    + " bytes, needs " + bytes);
    }

    // ---- 1-bit mask

    public static void encodeMask(Buf src, Buf dst) {
        src.requireFloat("mask encode");
        int n = src.numel();
        room(dst, maskBytes(n), "mask encode");
        float[] s = src.data(), d = dst.data();
        int so = src.offset(), dOff = dst.offset();
        int words = (int) maskSlots(n);
        Par.range(words, 1024, (a, e) -> {
            for (int w = a; w < e; w++) {
                int bits = 0, base = w * 32, lim = Math.min(32, n - base);
                for (int b = 0; b < lim; b++) if (s[so + base + b] > 0f) bits |= 1 << b;
                d[dOff + w] = Float.intBitsToFloat(bits);
            }
        });
    }

    public static void decodeMask(Buf src, Buf dst) {
        dst.requireFloat("mask decode");
        int n = dst.numel();
        room(src, maskBytes(n), "mask decode");
        float[] s = src.data(), d = dst.data();
        int so = src.offset(), dOff = dst.offset();
        Par.range((int) maskSlots(n), 1024, (a, e) -> {
            for (int w = a; w < e; w++) {
                int bits = Float.floatToRawIntBits(s[so + w]), base = w * 32, lim = Math.min(32, n - base);
                for (int b = 0; b < lim; b++) d[dOff + base + b] = ((bits >>> b) & 1) != 0 ? 1f : 0f;
            }
        });
    }

    // ---- sparse

    public static void encodeSparse(Buf src, Buf dst, double density, String tensorName) {
        src.requireFloat("sparse encode");
        int n = src.numel();
        long cap = sparseCapacity(n, density);
        room(dst, sparseBytes(n, density), "sparse encode of '" + tensorName + "'");
        float[] s = src.data(), d = dst.data();
        int so = src.offset(), bm = dst.offset(), words = (int) maskSlots(n), vals = bm + words;
        int chunks = (words + CHUNK_WORDS - 1) / CHUNK_WORDS;
        int[] counts = new int[chunks];
        Par.each(chunks, c -> {
            int cnt = 0;
            for (int w = c * CHUNK_WORDS, we = Math.min(words, w + CHUNK_WORDS); w < we; w++) {
                int bits = 0, base = w * 32, lim = Math.min(32, n - base);
                for (int b = 0; b < lim; b++) if (Float.floatToRawIntBits(s[so + base + b]) != 0) bits |= 1 << b;
                d[bm + w] = Float.intBitsToFloat(bits);
                cnt += Integer.bitCount(bits);
            }
            counts[c] = cnt;
        });
        long total = 0;
        int[] start = new int[chunks];
        for (int c = 0; c < chunks; c++) {
            start[c] = (int) Math.min(total, Integer.MAX_VALUE);
            total += counts[c];
        }
        if (total > cap) throw new SparseCapacityException(tensorName, total, cap, n, density);
        Par.each(chunks, c -> {
            int pos = vals + start[c];
            for (int i = c * CHUNK_WORDS * 32, ie = Math.min(n, (c + 1) * CHUNK_WORDS * 32); i < ie; i++) {
                float v = s[so + i];
                if (Float.floatToRawIntBits(v) != 0) d[pos++] = v;
            }
        });
    }

    public static void decodeSparse(Buf src, Buf dst, double density) {
        dst.requireFloat("sparse decode");
        int n = dst.numel();
        room(src, maskBytes(n), "sparse decode");
        float[] s = src.data(), d = dst.data();
        int bm = src.offset(), dOff = dst.offset(), words = (int) maskSlots(n), vals = bm + words;
        long cap = sparseCapacity(n, density);
        int chunks = (words + CHUNK_WORDS - 1) / CHUNK_WORDS;
        int[] start = new int[chunks];
        long total = 0;
        for (int c = 0; c < chunks; c++) {
            start[c] = (int) total;
            for (int w = c * CHUNK_WORDS, we = Math.min(words, w + CHUNK_WORDS); w < we; w++)
                total += Integer.bitCount(Float.floatToRawIntBits(s[bm + w]));
        }
        if (total > cap || vals + total > s.length)
            throw new IllegalStateException("sparse decode: the bitmap has " + total
                    + " non-zeros but the capacity is " + cap);
        Par.each(chunks, c -> {
            int pos = vals + start[c];
            for (int w = c * CHUNK_WORDS, we = Math.min(words, w + CHUNK_WORDS); w < we; w++) {
                int bits = Float.floatToRawIntBits(s[bm + w]), base = w * 32, lim = Math.min(32, n - base);
                for (int b = 0; b < lim; b++) d[dOff + base + b] = ((bits >>> b) & 1) != 0 ? s[pos++] : 0f;
            }
        });
    }

    // ---- fp16 / bf16

    public static void encodeHalf(Buf src, Buf dst, boolean bf16) {
        src.requireFloat("half encode");
        int n = src.numel();
        room(dst, halfBytes(n), bf16 ? "bf16 encode" : "fp16 encode");
        float[] s = src.data(), d = dst.data();
        int so = src.offset(), dOff = dst.offset();
        Par.range((n + 1) / 2, K.GRAIN, (a, e) -> {
            for (int w = a; w < e; w++) {
                int i = 2 * w;
                int lo = bf16 ? floatToBf16(s[so + i]) : floatToHalf(s[so + i]);
                int hi = i + 1 < n ? (bf16 ? floatToBf16(s[so + i + 1]) : floatToHalf(s[so + i + 1])) : 0;
                d[dOff + w] = Float.intBitsToFloat(lo | (hi << 16));
            }
        });
    }

    public static void decodeHalf(Buf src, Buf dst, boolean bf16) {
        dst.requireFloat("half decode");
        int n = dst.numel();
        room(src, halfBytes(n), bf16 ? "bf16 decode" : "fp16 decode");
        float[] s = src.data(), d = dst.data();
        int so = src.offset(), dOff = dst.offset();
        Par.range(n, K.GRAIN, (a, e) -> {
            for (int i = a; i < e; i++) {
                int h = (Float.floatToRawIntBits(s[so + (i >> 1)]) >>> ((i & 1) << 4)) & 0xffff;
                d[dOff + i] = bf16 ? bf16ToFloat(h) : halfToFloat(h);
            }
        });
    }

    /** IEEE binary16 bits of f, rounded to nearest even. */
    public static int floatToHalf(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff, mant = x & 0x7fffff;
        if (exp == 0xff) return sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0);
        int e = exp - 127 + 15;
        if (e >= 31) return sign | 0x7c00;
        if (e <= 0) {
            if (e < -10) return sign;
            mant |= 0x800000;
            int shift = 14 - e;
            int hm = mant >>> shift, rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
            if (rem > half || (rem == half && (hm & 1) != 0)) hm++;
            return sign | hm;
        }
        int h = sign | (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++;
        return h;
    }

    public static float halfToFloat(int h) {
        int sign = (h & 0x8000) << 16, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
        if (e == 0) {
            float v = m * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (e == 31) return Float.intBitsToFloat(sign | 0x7f800000 | (m << 13));
        return Float.intBitsToFloat(sign | ((e - 15 + 127) << 23) | (m << 13));
    }

    /** bfloat16 bits of f (the top half of its fp32 bits), rounded to nearest even. */
    public static int floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7f800000) == 0x7f800000 && (x & 0x7fffff) != 0) return ((x >>> 16) | 0x40) & 0xffff;
        int lsb = (x >>> 16) & 1;
        return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
    }

    public static float bf16ToFloat(int h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }
}

package memplan.backend.cpu;

import memplan.backend.Codec;
import memplan.ir.DType;
import memplan.ir.Shape;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Codecs: sizes, mask and sparse round trips, sparse overflow, fp16/bf16 rounding; Buf's raw-bit storage. */
class CpuCodecsTest {
    private static Buf relu(int n, double density, long seed) {
        Random r = new Random(seed);
        Buf b = Buf.alloc(Shape.of(n), DType.FP32);
        for (int i = 0; i < n; i++) b.set(i, r.nextDouble() < density ? r.nextFloat() + 1e-3f : 0f);
        return b;
    }

    private static Buf bytes(long bytes) {
        return Buf.alloc(Shape.of((int) (bytes / 4)), DType.INT32);
    }

    @Test
    void sizesAreExactAndMatchTheCodecEnum() {
        assertEquals(4, Codecs.maskBytes(1));
        assertEquals(4, Codecs.maskBytes(32));
        assertEquals(8, Codecs.maskBytes(33));
        assertEquals(4 + 4 * 4, Codecs.sparseBytes(32, 0.1)); // ceil(3.2) = 4 values
        assertEquals(4, Codecs.halfBytes(1));
        assertEquals(4, Codecs.halfBytes(2));
        for (long n : new long[]{0, 1, 7, 8, 31, 32, 33, 1000, 123457})
            for (double d : new double[]{0, 0.05, 0.5, 1})
                for (Codec c : Codec.values()) assertEquals(c.encodedBytes(n, d), Codecs.encodedBytes(c, n, d), c + " " + n + " " + d);
    }

    @Test
    void maskRoundTrip() {
        for (int n : new int[]{1, 31, 32, 33, 100_000}) {
            Buf y = relu(n, 0.4, n);
            Buf enc = bytes(Codecs.maskBytes(n));
            Codecs.encodeMask(y, enc);
            Buf dec = Buf.alloc(y.shape(), DType.FP32);
            Codecs.decodeMask(enc, dec);
            for (int i = 0; i < n; i++) assertEquals(y.get(i) > 0 ? 1f : 0f, dec.get(i));
        }
    }

    @Test
    void sparseRoundTripIsBitExact() {
        for (int n : new int[]{1, 33, 20_000, 70_001}) {
            Buf y = relu(n, 0.3, n);
            if (n > 10) {
                y.set(3, -2.5f);                         // negative values and odd bit patterns survive too
                y.set(5, Float.intBitsToFloat(0x7fc12345));
                y.set(7, -0f);
            }
            int nnz = 0;
            for (int i = 0; i < n; i++) if (Float.floatToRawIntBits(y.get(i)) != 0) nnz++;
            double density = (double) nnz / n;
            Buf enc = bytes(Codecs.sparseBytes(n, density));
            Codecs.encodeSparse(y, enc, density, "t");
            Buf dec = Buf.alloc(y.shape(), DType.FP32);
            dec.fill(9f);
            Codecs.decodeSparse(enc, dec, density);
            for (int i = 0; i < n; i++) assertEquals(Float.floatToRawIntBits(y.get(i)), Float.floatToRawIntBits(dec.get(i)), "element " + i);
        }
    }

    @Test
    void sparseOverflowNamesTensorDensityAndCapacity() {
        Buf y = relu(1000, 0.5, 1);
        Buf enc = bytes(Codecs.sparseBytes(1000, 0.1));
        SparseCapacityException e = assertThrows(SparseCapacityException.class, () -> Codecs.encodeSparse(y, enc, 0.1, "layer3.relu"));
        assertTrue(e.getMessage().contains("layer3.relu"), e.getMessage());
        assertTrue(e.getMessage().contains("100"), e.getMessage());
        assertEquals(100, e.capacity());
        assertTrue(e.actualDensity() > 0.4 && e.actualDensity() < 0.6);
    }

    @Test
    void fp16RoundsToNearestEven() {
        assertEquals(0x3c00, Codecs.floatToHalf(1f));
        assertEquals(0xc000, Codecs.floatToHalf(-2f));
        assertEquals(0x7bff, Codecs.floatToHalf(65504f));
        assertEquals(0x7c00, Codecs.floatToHalf(65520f));          // rounds up to infinity
        assertEquals(0x7bff, Codecs.floatToHalf(65519f));
        assertEquals(0x0001, Codecs.floatToHalf(0x1p-24f));         // smallest subnormal
        assertEquals(0x0000, Codecs.floatToHalf(0x1p-25f));         // tie -> even (zero)
        assertEquals(0x0002, Codecs.floatToHalf(2.5f * 0x1p-24f));    // subnormal tie -> even (2 units)
        assertEquals(0x0004, Codecs.floatToHalf(3.5f * 0x1p-24f));    // subnormal tie -> even (4 units)
        assertEquals(0x3c00, Codecs.floatToHalf(1f + 0x1p-11f));    // tie between 1 and 1+2^-10 -> even (1)
        assertEquals(0x3c02, Codecs.floatToHalf(1f + 3 * 0x1p-11f)); // tie -> even (1 + 2^-9)
        assertTrue(Float.isNaN(Codecs.halfToFloat(Codecs.floatToHalf(Float.NaN))));
        assertEquals(Float.NEGATIVE_INFINITY, Codecs.halfToFloat(Codecs.floatToHalf(Float.NEGATIVE_INFINITY)));
        for (int h = 0; h < 0x7c00; h++) assertEquals(h, Codecs.floatToHalf(Codecs.halfToFloat(h)), "half " + h);
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(0x3f80, Codecs.floatToBf16(1f));
        assertEquals(0x3f80, Codecs.floatToBf16(Float.intBitsToFloat(0x3f808000))); // tie -> even
        assertEquals(0x3f82, Codecs.floatToBf16(Float.intBitsToFloat(0x3f818000))); // tie -> even (up)
        assertEquals(0x3f81, Codecs.floatToBf16(Float.intBitsToFloat(0x3f808001)));
        assertTrue(Float.isNaN(Codecs.bf16ToFloat(Codecs.floatToBf16(Float.NaN))));
    }

    @Test
    void halfRoundTripErrorBounds() {
        Random r = new Random(3);
        int n = 10_001;
        Buf x = Buf.alloc(Shape.of(n), DType.FP32);
        for (int i = 0; i < n; i++) x.set(i, (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 3)));
        for (boolean bf : new boolean[]{false, true}) {
            Buf enc = bytes(Codecs.halfBytes(n)), dec = Buf.alloc(x.shape(), DType.FP32);
            Codecs.encode(bf ? Codec.BF16 : Codec.FP16, x, enc, 0, "x");
            Codecs.decode(bf ? Codec.BF16 : Codec.FP16, enc, dec, 0);
            double rel = bf ? 0x1p-8 : 0x1p-11; // half an ulp, relative
            for (int i = 0; i < n; i++) {
                float v = x.get(i);
                double bound = Math.abs(v) * rel + (bf ? 0 : 0x1p-25); // fp16 subnormal spacing 2^-24
                assertTrue(Math.abs(dec.get(i) - v) <= bound, (bf ? "bf16 " : "fp16 ") + v + " -> " + dec.get(i));
            }
            // the Buf view of the same memory reads the 16-bit values
            Buf view = enc.view(x.shape(), bf ? DType.BF16 : DType.FP16);
            assertEquals(bf ? Codecs.floatToBf16(x.get(1)) : Codecs.floatToHalf(x.get(1)), view.getHalf(1));
        }
    }

    @Test
    void bufRawBitsSurviveForIntegersAndBytes() {
        Buf l = Buf.alloc(Shape.of(4), DType.INT64);
        long[] vals = {0x7f800001_7fa00000L, -1L, Long.MIN_VALUE, 0x00000000_ff800001L};
        for (int i = 0; i < 4; i++) l.setLong(i, vals[i]);
        float[] copy = l.data().clone();
        Buf l2 = new Buf(copy, 0, l.shape(), DType.INT64);
        for (int i = 0; i < 4; i++) assertEquals(vals[i], l2.getLong(i));
        Buf b = Buf.alloc(Shape.of(7), DType.BOOL);
        assertEquals(2, b.slots());
        for (int i = 0; i < 7; i++) b.setByte(i, i * 40);
        for (int i = 0; i < 7; i++) assertEquals((i * 40) & 0xff, b.getByte(i));
        Buf i32 = Buf.alloc(Shape.of(2), DType.INT32);
        i32.setInt(1, 0x7f800123);
        assertEquals(0x7f800123, i32.getInt(1));
        assertThrows(IllegalArgumentException.class, () -> new Buf(new float[3], 0, Shape.of(2), DType.INT64));
    }
}

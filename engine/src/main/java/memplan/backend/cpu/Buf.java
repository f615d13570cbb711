package memplan.backend.cpu;

import memplan.ir.DType;
import memplan.ir.Shape;

import java.util.Arrays;

/**
 * A view of one tensor in the CPU backend's arena: {@code data} is the whole arena (one {@code float[]}), and the
 * tensor starts at float slot {@code offset} (= byte offset / 4). Non-float dtypes are stored as raw bits in the
 * slots: INT32 one slot per element; INT64 two slots per element, low 32 bits first; BOOL one byte per element,
 * four per slot (element i is byte i%4 of slot i/4, little-endian in the int bits); FP16/BF16 two bytes per
 * element, two per slot (element i is the low half of slot i/2 when i is even, the high half when odd).
 * <p>
 * Two Bufs may alias (same data and offset) when an op runs in place; kernels are written so that is safe where
 * the op allows it.
 */
public record Buf(float[] data, int offset, Shape shape, DType dtype) {
    public Buf {
        if (data == null || shape == null || dtype == null)
            throw new IllegalArgumentException("Buf: null data, shape or dtype");
        if (offset < 0 || (long) offset + slots(shape.numel(), dtype) > data.length)
            throw new IllegalArgumentException("Buf " + shape + " " + dtype + " at slot " + offset + " ("
                    + slots(shape.numel(), dtype)
                    + " slots) does not fit an arena of " + data.length + " slots");
    }

    /** The tensor at a byte offset of an arena (the offset must be a multiple of 4). */
    public static Buf at(float[] arena, long byteOffset, Shape shape, DType dtype) {
        if (byteOffset < 0 || byteOffset % 4 != 0 || byteOffset / 4 > Integer.MAX_VALUE)
            throw new IllegalArgumentException("byte offset " + byteOffset
                    + " is not a valid 4-byte slot of the arena");
        return new Buf(arena, (int) (byteOffset / 4), shape, dtype);
    }

    /** A fresh zeroed tensor in its own array. */
    public static Buf alloc(Shape shape, DType dtype) {
        long s = slots(shape.numel(), dtype);
        if (s > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor " + shape + " " + dtype
                + " is too large for one float[]");
        return new Buf(new float[(int) s], 0, shape, dtype);
    }

    public static Buf of(Shape shape, float... values) {
        Buf b = alloc(shape, DType.FP32);
        if (values.length != b.numel()) throw new IllegalArgumentException(values.length
                + " values for shape " + shape);
        System.arraycopy(values, 0, b.data, 0, values.length);
        return b;
    }

    /** Float slots that numel elements of a dtype take. */
    public static long slots(long numel, DType dtype) {
        return switch (dtype) {
            case FP32, INT32 -> numel;
            case INT64 -> 2 * numel;
            case BOOL, UINT8 -> (numel + 3) / 4;
            case FP16, BF16 -> (numel + 1) / 2;
        };
    }

    public int numel() {
        return (int) shape.numel();
    }

    public int slots() {
        return (int) slots(shape.numel(), dtype);
    }

    /** The same memory seen with another shape (a view) or dtype. */
    public Buf view(Shape s, DType d) {
        return new Buf(data, offset, s, d);
    }

    public Buf view(Shape s) {
        return new Buf(data, offset, s, dtype);
    }

    public boolean sameMemory(Buf o) {
        return o != null && o.data == data && o.offset == offset;
    }

    // ---- FP32

    public float get(int i) {
        return data[offset + i];
    }

    public void set(int i, float v) {
        data[offset + i] = v;
    }

    /** Copies all elements to a new array (FP32 only). */
    public float[] toArray() {
        requireFloat("toArray");
        float[] out = new float[numel()];
        System.arraycopy(data, offset, out, 0, out.length);
        return out;
    }

    public void fill(float v) {
        Arrays.fill(data, offset, offset + slots(), v);
    }

    void requireFloat(String what) {
        if (dtype != DType.FP32)
            throw new IllegalArgumentException(what + ": the CPU kernels compute on fp32 tensors, got " + dtype + " "
                    + shape);
    }

    // ---- integers

    public int getInt(int i) {
        return Float.floatToRawIntBits(data[offset + i]);
    }

    public void setInt(int i, int v) {
        data[offset + i] = Float.intBitsToFloat(v);
    }

    public long getLong(int i) {
        int lo = Float.floatToRawIntBits(data[offset + 2 * i]);
        int hi = Float.floatToRawIntBits(data[offset + 2 * i + 1]);
        return ((long) hi << 32) | (lo & 0xffffffffL);
    }

    public void setLong(int i, long v) {
        data[offset + 2 * i] = Float.intBitsToFloat((int) v);
        data[offset + 2 * i + 1] = Float.intBitsToFloat((int) (v >>> 32));
    }

    /** An index element of an INT64 or INT32 tensor. */
    public long getIndex(int i) {
        return switch (dtype) {
            case INT64 -> getLong(i);
            case INT32 -> getInt(i);
            default -> throw new IllegalArgumentException("expected an int64 or int32 index tensor, got " + dtype + " "
                    + shape);
        };
    }

    /** Byte i (0..255) of a BOOL tensor. */
    public int getByte(int i) {
        return (Float.floatToRawIntBits(data[offset + (i >> 2)]) >>> ((i & 3) << 3)) & 0xff;
    }

    public void setByte(int i, int v) {
        int s = offset + (i >> 2), sh = (i & 3) << 3;
        int bits = Float.floatToRawIntBits(data[s]);
        bits = (bits & ~(0xff << sh)) | ((v & 0xff) << sh);
        data[s] = Float.intBitsToFloat(bits);
    }

    /** 16-bit element i of an FP16/BF16 tensor, as unsigned bits. */
    public int getHalf(int i) {
        return (Float.floatToRawIntBits(data[offset + (i >> 1)]) >>> ((i & 1) << 4)) & 0xffff;
    }

    public void setHalf(int i, int v) {
        int s = offset + (i >> 1), sh = (i & 1) << 4;
        int bits = Float.floatToRawIntBits(data[s]);
        bits = (bits & ~(0xffff << sh)) | ((v & 0xffff) << sh);
        data[s] = Float.intBitsToFloat(bits);
    }

    @Override
    public String toString() {
        return "Buf[" + shape + " " + dtype + " @" + offset + "]";
    }
}

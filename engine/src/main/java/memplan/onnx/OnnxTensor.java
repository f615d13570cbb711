package memplan.onnx;

import com.google.protobuf.ByteString;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.onnx.proto.Onnx.TensorProto.DataType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.InvalidPathException;
import java.util.Arrays;

/**
 * Reads the values of a TensorProto: typed fields (float_data, int64_data, ...), raw_data (little-endian), or an
 * external data file next to the model. Values are only decoded for small tensors (shapes, axes, scalars); weights
 * are only ever measured, so a 10 GB model is never read into memory.
 */
final class OnnxTensor {
    /** Tensors with more elements than this are never decoded (their values are not needed). */
    static final long MAX_DECODE = 1 << 16;

    private OnnxTensor() {
    }

    static int[] dims(TensorProto t, String where) {
        int[] d = new int[t.getDimsCount()];
        for (int i = 0; i < d.length; i++) {
            long v = t.getDims(i);
            if (v < 0 || v > Integer.MAX_VALUE) throw new OnnxError(where, "dimension " + i + " is " + v);
            d[i] = (int) v;
        }
        return d;
    }

    static long numel(int[] d) {
        long n = 1;
        for (int x : d) n = Math.multiplyExact(n, x);
        return n;
    }

    /** The element count, or an error naming the tensor when it does not fit a long. */
    static long numel(int[] d, String where) {
        try {
            return numel(d);
        } catch (ArithmeticException e) {
            throw new OnnxError(where, "its shape " + Arrays.toString(d) + " has more elements than can be counted");
        }
    }

    /** Bytes of the tensor's data at its element type; 0 for types without a fixed size (strings). */
    static long dataBytes(TensorProto t, String where) {
        long n = numel(dims(t, where), where);
        try {
            return Math.multiplyExact(n, elementBytes(t.getDataType()));
        } catch (ArithmeticException e) {
            throw new OnnxError(where, "its shape " + t.getDimsList() + " needs more bytes than can be counted");
        }
    }

    /**
     * Checks an initializer before anything reads it: it has data, as many values as its shape needs, and external
     * data that lies inside the model's folder.
     */
    static void checkInitializer(TensorProto t, Path modelDir, String where) {
        long n = numel(dims(t, where), where);
        if (isExternal(t)) {
            external(t, modelDir, where);
            return;
        }
        int eb = elementBytes(t.getDataType());
        long typed = typedCount(t);
        if (t.hasRawData() && !t.getRawData().isEmpty()) {
            if (eb > 0 && t.getRawData().size() != dataBytes(t, where))
                throw new OnnxError(where, "raw data has " + t.getRawData().size() + " bytes, but its shape "
                        + t.getDimsList() + " of " + typeName(t.getDataType()) + " needs " + dataBytes(t, where));
        } else if (typed > 0) {
            if (eb > 0 && typed != n)
                throw new OnnxError(where, "holds " + typed + " values but its shape " + t.getDimsList()
                        + " needs " + n);
        } else if (n > 0) {
            throw new OnnxError(where, "has no data (no raw_data, no values, no external data) for its shape "
                    + t.getDimsList());
        }
    }

    private static long typedCount(TensorProto t) {
        return (long) t.getFloatDataCount() + t.getDoubleDataCount() + t.getInt32DataCount() + t.getInt64DataCount()
                + t.getUint64DataCount() + t.getStringDataCount();
    }

    static int elementBytes(int dataType) {
        return switch (dataType) {
            case DataType.FLOAT_VALUE, DataType.INT32_VALUE, DataType.UINT32_VALUE -> 4;
            case DataType.INT64_VALUE, DataType.UINT64_VALUE, DataType.DOUBLE_VALUE -> 8;
            case DataType.FLOAT16_VALUE, DataType.BFLOAT16_VALUE, DataType.INT16_VALUE, DataType.UINT16_VALUE -> 2;
            case DataType.INT8_VALUE, DataType.UINT8_VALUE, DataType.BOOL_VALUE -> 1;
            default -> 0;
        };
    }

    static boolean isExternal(TensorProto t) {
        return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
    }

    /** Checks that an external tensor's file exists and is long enough; returns (path, offset, length). */
    static External external(TensorProto t, Path modelDir, String where) {
        String location = null;
        long offset = 0, length = -1;
        for (var e : t.getExternalDataList()) {
            try {
                switch (e.getKey()) {
                    case "location" -> location = e.getValue();
                    case "offset" -> offset = Long.parseLong(e.getValue());
                    case "length" -> length = Long.parseLong(e.getValue());
                    default -> { }
                }
            } catch (NumberFormatException x) {
                throw new OnnxError(where, "external data " + e.getKey() + " '" + e.getValue() + "' is not a number");
            }
        }
        Path file = confined(location, modelDir, where);
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new OnnxError(where, "cannot read external data file '" + location + "'");
        }
        long tensorBytes = dataBytes(t, where);
        if (offset < 0) throw new OnnxError(where, "external data offset " + offset + " is negative");
        if (length >= 0 && tensorBytes > 0 && length != tensorBytes)
            throw new OnnxError(where, "external data length " + length + " does not match the tensor: its shape "
                    + t.getDimsList() + " of " + typeName(t.getDataType()) + " needs " + tensorBytes + " bytes");
        long need = length >= 0 ? length : tensorBytes;
        if (offset > size || need > size - offset)
            throw new OnnxError(where, "external data file '" + location + "' has " + size + " bytes; the tensor needs "
                    + need + " bytes from offset " + offset);
        return new External(file, offset, need);
    }

    record External(Path file, long offset, long length) {
    }

    /**
     * The external data file, which must lie inside the model's folder, as ONNX Runtime requires: a relative location
     * without ".." escaping it, and no link leading out. Nothing outside the folder is probed.
     */
    static Path confined(String location, Path modelDir, String where) {
        if (location == null || location.isEmpty()) throw new OnnxError(where, "external data without a 'location'");
        if (location.indexOf('\0') >= 0) throw new OnnxError(where, "external data location contains a NUL character");
        Path rel;
        try {
            rel = Path.of(location);
        } catch (InvalidPathException e) {
            throw new OnnxError(where, "external data location '" + location + "' is not a valid path");
        }
        if (rel.isAbsolute() || location.startsWith("/") || location.startsWith("\\"))
            throw new OnnxError(where, "external data location '" + location
                    + "' is an absolute path; it must be relative to the model's folder");
        Path dir = modelDir.toAbsolutePath().normalize();
        Path file = dir.resolve(rel).normalize();
        if (!file.startsWith(dir) || file.equals(dir))
            throw new OnnxError(where, "external data location '" + location + "' leads outside the model's folder");
        if (!Files.isRegularFile(file))
            throw new OnnxError(where, "missing external data file '" + location + "' (looked for " + file + ")");
        try {
            if (!file.toRealPath().startsWith(dir.toRealPath()))
                throw new OnnxError(where, "external data file '" + location
                        + "' is a link leading outside the model's folder");
        } catch (IOException e) {
            throw new OnnxError(where, "cannot read external data file '" + location + "'");
        }
        return file;
    }

    /** The values as doubles (integers exactly up to 2^53), or null if the tensor is too large or not numeric. */
    static double[] decode(TensorProto t, Path modelDir, String where) {
        int[] d = dims(t, where);
        long n = numel(d, where);
        if (n > MAX_DECODE) return null;
        int count = (int) n;
        int type = t.getDataType();
        ByteString raw = null;
        if (isExternal(t) && elementBytes(type) == 0) return null; // not numeric: nothing to read
        if (isExternal(t)) {
            External x = external(t, modelDir, where);
            try (FileChannel ch = FileChannel.open(x.file(), StandardOpenOption.READ)) {
                ByteBuffer buf = ByteBuffer.allocate((int) x.length());
                ch.read(buf, x.offset());
                buf.flip();
                raw = ByteString.copyFrom(buf);
            } catch (IOException e) {
                throw new OnnxError(where, "cannot read external data: " + e.getMessage());
            }
        } else if (t.hasRawData()) raw = t.getRawData();
        double[] out = new double[count];
        if (raw != null) {
            int eb = elementBytes(type);
            if (eb == 0) return null;
            if (raw.size() < (long) eb * count)
                throw new OnnxError(where, "raw data has " + raw.size() + " bytes, "
                        + (long) eb * count + " expected for "
                        + count + " elements");
            ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++) {
                out[i] = switch (type) {
                    case DataType.FLOAT_VALUE -> b.getFloat();
                    case DataType.DOUBLE_VALUE -> b.getDouble();
                    case DataType.INT64_VALUE, DataType.UINT64_VALUE -> b.getLong();
                    case DataType.INT32_VALUE, DataType.UINT32_VALUE -> b.getInt();
                    case DataType.INT16_VALUE -> b.getShort();
                    case DataType.UINT16_VALUE -> b.getShort() & 0xffff;
                    case DataType.INT8_VALUE -> b.get();
                    case DataType.UINT8_VALUE, DataType.BOOL_VALUE -> b.get() & 0xff;
                    case DataType.FLOAT16_VALUE -> half(b.getShort());
                    case DataType.BFLOAT16_VALUE -> Float.intBitsToFloat((b.getShort() & 0xffff) << 16);
                    default -> 0;
                };
            }
            return out;
        }
        int have;
        switch (type) {
            case DataType.FLOAT_VALUE -> {
                have = t.getFloatDataCount();
                for (int i = 0; i < Math.min(have, count); i++) out[i] = t.getFloatData(i);
            }
            case DataType.DOUBLE_VALUE -> {
                have = t.getDoubleDataCount();
                for (int i = 0; i < Math.min(have, count); i++) out[i] = t.getDoubleData(i);
            }
            case DataType.INT64_VALUE -> {
                have = t.getInt64DataCount();
                for (int i = 0; i < Math.min(have, count); i++) out[i] = t.getInt64Data(i);
            }
            case DataType.UINT64_VALUE, DataType.UINT32_VALUE -> {
                have = t.getUint64DataCount();
                for (int i = 0; i < Math.min(have, count); i++) out[i] = t.getUint64Data(i);
            }
            case DataType.INT32_VALUE, DataType.INT16_VALUE, DataType.INT8_VALUE,
                    DataType.UINT16_VALUE, DataType.UINT8_VALUE,
                    DataType.BOOL_VALUE -> {
                have = t.getInt32DataCount();
                for (int i = 0; i < Math.min(have, count); i++) out[i] = t.getInt32Data(i);
            }
            case DataType.FLOAT16_VALUE -> {
                have = t.getInt32DataCount();
                for (int i = 0; i < Math.min(have, count); i++) out[i] = half((short) t.getInt32Data(i));
            }
            case DataType.BFLOAT16_VALUE -> {
                have = t.getInt32DataCount();
                for (int i = 0; i < Math.min(have, count); i++)
                    out[i] = Float.intBitsToFloat((t.getInt32Data(i) & 0xffff) << 16);
            }
            default -> {
                return null;
            }
        }
        if (have != count)
            throw new OnnxError(where, "holds " + have + " values but its shape "
                    + Arrays.toString(d) + " needs " + count);
        return out;
    }

    /** IEEE 754 half precision to double (Float.float16ToFloat needs Java 20). */
    static double half(short h) {
        int bits = h & 0xffff;
        int sign = (bits >> 15) != 0 ? -1 : 1;
        int exp = (bits >> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0) return sign * Math.scalb((double) mant, -24);
        if (exp == 31) return mant == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        return sign * Math.scalb(1.0 + mant / 1024.0, exp - 15);
    }

    static boolean isFloating(int dataType) {
        return dataType == DataType.FLOAT_VALUE || dataType == DataType.DOUBLE_VALUE
                || dataType == DataType.FLOAT16_VALUE
                || dataType == DataType.BFLOAT16_VALUE;
    }

    static String typeName(int dataType) {
        DataType d = DataType.forNumber(dataType);
        return d == null ? "type " + dataType : d.name().toLowerCase();
    }
}

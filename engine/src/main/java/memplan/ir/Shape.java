package memplan.ir;

import java.util.Arrays;

/**
 * An immutable, concrete tensor shape. Rank 0 is a scalar. A shape has at most {@link #MAX_ELEMENTS} elements, so
 * that its element count, and its size in bytes at any dtype, are exact longs: a shape that would overflow is a
 * {@link ShapeException} (which the graph reports with the layer), never a wrapped-around count.
 */
public final class Shape {
    /** 2^56 elements (512 PiB at 8 bytes each): far beyond any device, and its bytes times 8 still fit a long. */
    public static final long MAX_ELEMENTS = 1L << 56;
    private final int[] dims;

    public Shape(int... dims) {
        boolean empty = false;
        for (int d : dims) {
            if (d < 0) throw new ShapeException("negative dimension in " + text(dims));
            empty |= d == 0;
        }
        if (!empty) {
            long n = 1;
            for (int d : dims) {
                if (n > MAX_ELEMENTS / d)
                    throw new ShapeException("a tensor of shape " + text(dims)
                            + " has more than 2^56 elements, too large to model");
                n *= d;
            }
        }
        this.dims = dims.clone();
    }

    public static Shape of(int... dims) {
        return new Shape(dims);
    }

    public int rank() {
        return dims.length;
    }

    /** Dimension i; negative i counts from the end. */
    public int dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    public int[] dims() {
        return dims.clone();
    }

    /** The element count; exact, as the constructor bounds it. */
    public long numel() {
        long n = 1;
        for (int d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Product of dimensions [from, to). */
    public long numel(int from, int to) {
        long n = 1;
        for (int i = from; i < to; i++) n = Math.multiplyExact(n, dims[i]);
        return n;
    }

    /** The size at {@code elementBytes} bytes per element; exact for element sizes up to 128 bytes. */
    public long bytes(int elementBytes) {
        return Math.multiplyExact(numel(), elementBytes);
    }

    public Shape withDim(int i, int value) {
        int[] d = dims.clone();
        d[i < 0 ? d.length + i : i] = value;
        return new Shape(d);
    }

    public Shape withoutLast() {
        return new Shape(Arrays.copyOf(dims, dims.length - 1));
    }

    public Shape append(int value) {
        int[] d = Arrays.copyOf(dims, dims.length + 1);
        d[dims.length] = value;
        return new Shape(d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return text(dims);
    }

    private static String text(int[] dims) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : "x").append(dims[i]);
        return b.append(']').toString();
    }
}

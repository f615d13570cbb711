package memplan.ir;

import java.util.Arrays;

/** An immutable, concrete tensor shape. Rank 0 is a scalar. */
public final class Shape {
    private final int[] dims;

    public Shape(int... dims) {
        for (int d : dims) if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
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

    public long numel() {
        long n = 1;
        for (int d : dims) n *= d;
        return n;
    }

    /** Product of dimensions [from, to). */
    public long numel(int from, int to) {
        long n = 1;
        for (int i = from; i < to; i++) n *= dims[i];
        return n;
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
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : "x").append(dims[i]);
        return b.append(']').toString();
    }
}

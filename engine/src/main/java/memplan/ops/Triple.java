package memplan.ops;

/** A (depth, height, width) triple of a 3-D op attribute such as a kernel size or stride. */
public record Triple(int d, int h, int w) {
    public static Triple of(int v) {
        return new Triple(v, v, v);
    }

    @Override
    public String toString() {
        return d == h && h == w ? Integer.toString(d) : d + "x" + h + "x" + w;
    }
}

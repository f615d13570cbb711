package memplan.ops;

/** A (height, width) pair of a 2-D op attribute such as a kernel size or stride. */
public record Pair(int h, int w) {
    public static Pair of(int v) {
        return new Pair(v, v);
    }

    @Override
    public String toString() {
        return h == w ? Integer.toString(h) : h + "x" + w;
    }
}

package memplan.backend.cpu;

/**
 * Elementwise loops over arena tensors, run chunk by chunk through this thread's own arrays, for the loops that
 * HotSpot's C2 (JDK 17) leaves scalar on the arena. Every tensor of a run is a slice of one arena array at its own
 * offset, and C2 cannot always show such a loop's stores clear of its loads: measured on one thread, ReLU's
 * {@code Math.max} took 1.3-1.8 ns an element in the arena and 0.25 ns through the chunks (copies included),
 * BatchNorm's normalising 0.45-0.77 ns against 0.11-0.48 (planes of 3 136 to 4M elements). In the chunks every
 * access indexes alike, and the loop vectorises. Loops that vectorise in the arena as they are (an add, an
 * accumulation, SGD's update: 2-3x slower through the chunks) stay there. Each element gets the same float
 * operations in the same order as in the plain loop, so results are bit for bit the same. Output and input may be
 * the same tensor (an op run in place): a chunk is read whole before it is written.
 */
final class Chunks {
    private Chunks() {
    }

    /** Elements per chunk: three chunks of a thread stay in its L1 and L2 caches. */
    static final int SIZE = 2048;

    private static final ThreadLocal<float[][]> LOCAL = ThreadLocal.withInitial(() -> new float[3][SIZE]);

    /** A loop over elements [0, n) of chunks a, b and c, every access at the same index; it leaves its result in a. */
    interface Loop {
        void run(float[] a, float[] b, float[] c, int n);
    }

    /**
     * For elements [s, e): the operands x0, x1, x2 (any may be null: that chunk is not loaded) at their offsets
     * copied into chunks a, b, c, the loop run, and a copied to dst at dOff. Offsets are of element 0 of the
     * range's tensor: element i of the range is at offset + i.
     */
    static void map(float[] dst, int dOff, float[] x0, int o0, float[] x1, int o1, float[] x2, int o2, int s, int e,
                    Loop loop) {
        float[][] ch = LOCAL.get();
        float[] a = ch[0], b = ch[1], c = ch[2];
        for (int p = s; p < e; p += SIZE) {
            int n = Math.min(SIZE, e - p);
            if (x0 != null) System.arraycopy(x0, o0 + p, a, 0, n);
            if (x1 != null) System.arraycopy(x1, o1 + p, b, 0, n);
            if (x2 != null) System.arraycopy(x2, o2 + p, c, 0, n);
            loop.run(a, b, c, n);
            System.arraycopy(a, 0, dst, dOff + p, n);
        }
    }
}

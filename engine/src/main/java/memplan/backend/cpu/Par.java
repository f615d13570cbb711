package memplan.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.stream.IntStream;

/**
 * Parallel loops over independent work items. Work is split into chunks whose boundaries depend only on the
 * problem size (never on the thread count), and each chunk is written by one task only, so results are
 * bit-identical whatever the parallelism. Runs in the ForkJoin pool of the caller (the common pool by default;
 * run a kernel inside {@code new ForkJoinPool(k).submit(...)} to use k threads).
 */
final class Par {
    private Par() {
    }

    interface Range {
        void run(int from, int to);
    }

    interface Item {
        void run(int i);
    }

    /** Runs body over [0, n) in chunks of {@code grain} items. */
    static void range(int n, int grain, Range body) {
        if (n <= 0) return;
        int g = Math.max(1, grain);
        int chunks = (int) ((n + (long) g - 1) / g);
        if (chunks == 1 || parallelism() == 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> body.run(c * g, (int) Math.min(n, (long) c * g + g)));
    }

    /** Runs body for each i in [0, n), in parallel. */
    static void each(int n, Item body) {
        if (n <= 0) return;
        if (n == 1 || parallelism() == 1) {
            for (int i = 0; i < n; i++) body.run(i);
            return;
        }
        IntStream.range(0, n).parallel().forEach(body::run);
    }

    /** Below this many operations in all, a loop runs on the calling thread: a hand-off costs more than it saves. */
    static final long SMALL_WORK = 1 << 17;

    /**
     * Runs body for each i in [0, n), in parallel only when the items cost {@link #SMALL_WORK} operations or more
     * together (each item writes its own elements, so where it runs changes no result).
     */
    static void each(int n, long workPerItem, Item body) {
        if ((long) n * Math.max(1, workPerItem) < SMALL_WORK) {
            for (int i = 0; i < n; i++) body.run(i);
            return;
        }
        each(n, body);
    }

    /** Grain so that a loop over n items of {@code costPerItem} work is split into pieces of ~64k operations. */
    static int grain(long n, long costPerItem) {
        long g = Math.max(1, 65536 / Math.max(1, costPerItem));
        return (int) Math.min(Math.max(1, n), g);
    }

    static int parallelism() {
        ForkJoinPool p = ForkJoinTask.getPool();
        // outside a pool, parallel streams run on the common pool plus the calling thread
        return p != null ? p.getParallelism() : ForkJoinPool.getCommonPoolParallelism() + 1;
    }
}

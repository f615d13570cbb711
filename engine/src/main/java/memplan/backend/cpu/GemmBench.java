package memplan.backend.cpu;

import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;

/**
 * Times the CPU backend's fp32 GEMM on n x n x n at a given thread count (best of a few runs after a warm-up) and
 * checks sampled elements against a double-precision dot product, so a library that picks a wrong kernel is caught
 * as well as a slow one. For {@code memplan bench cpu}.
 */
public final class GemmBench {
    private GemmBench() {
    }

    /** One measurement: seconds of the best run, GFLOP/s (2 n^3 / s) and the largest relative error sampled. */
    public record GemmSpeed(int n, int threads, double seconds, double gflops, double maxRelativeError,
                            String implementation) {
    }

    /**
     * Best of at least {@code runs} runs, and of more while they take under {@code seconds} in all (at most
     * {@link #MAX_RUNS}): on a shared host whose speed drifts from second to second, five runs of 1024^3 (50 ms)
     * often fell in one slow stretch (43-50% of the peak measured a moment before, against 75-80% in a quiet one).
     */
    public static GemmSpeed measure(int n, int threads, int runs, double seconds) {
        return measure(n, threads, runs, seconds, MAX_RUNS);
    }

    /** Most runs of one measurement. */
    public static final int MAX_RUNS = 100;

    public static GemmSpeed measure(int n, int threads, int runs) {
        return measure(n, threads, runs, 0, runs);
    }

    private static GemmSpeed measure(int n, int threads, int runs, double seconds, int maxRuns) {
        if (n <= 0 || threads <= 0 || runs <= 0)
            throw new IllegalArgumentException("size, threads and runs must be positive");
        Random r = new Random(1);
        float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextFloat() - 0.5f;
            b[i] = r.nextFloat() - 0.5f;
        }
        ForkJoinPool pool = new ForkJoinPool(threads);
        double best;
        try {
            best = pool.submit(() -> {
                Gemm.gemm(n, n, n, a, 0, n, false, b, 0, n, false, c, 0, n, false);
                double t = Double.MAX_VALUE;
                long until = System.nanoTime() + (long) (seconds * 1e9);
                for (int k = 0; k < maxRuns && (k < runs || System.nanoTime() < until); k++) {
                    long t0 = System.nanoTime();
                    Gemm.gemm(n, n, n, a, 0, n, false, b, 0, n, false, c, 0, n, false);
                    t = Math.min(t, (System.nanoTime() - t0) / 1e9);
                }
                return t;
            }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("GEMM benchmark interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("GEMM benchmark failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdown();
        }
        double err = 0;
        for (int s = 0; s < 64; s++) {
            int i = r.nextInt(n), j = r.nextInt(n);
            double sum = 0, mag = 0;
            for (int k = 0; k < n; k++) {
                double p = (double) a[i * n + k] * b[k * n + j];
                sum += p;
                mag += Math.abs(p);
            }
            err = Math.max(err, Math.abs(c[i * n + j] - sum) / Math.max(mag, 1e-30));
        }
        return new GemmSpeed(n, threads, best, 2.0 * n * n * n / best / 1e9, err, Gemm.implementation());
    }
}

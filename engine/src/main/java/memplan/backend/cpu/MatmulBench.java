package memplan.backend.cpu;

import java.util.Random;
import java.util.concurrent.ForkJoinPool;

/**
 * Times a 1024 x 1024 x 1024 fp32 multiply with {@link Gemm} against a plain triple loop and prints GFLOP/s.
 * Run: {@code java -cp engine/target/classes memplan.backend.cpu.MatmulBench [size]}.
 */
public final class MatmulBench {
    private MatmulBench() {
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        Random r = new Random(1);
        float[] a = new float[n * n], b = new float[n * n], c1 = new float[n * n], c2 = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextFloat() - 0.5f;
            b[i] = r.nextFloat() - 0.5f;
        }
        double flops = 2.0 * n * n * n;
        for (int w = 0; w < 3; w++) Gemm.gemm(n, n, n, a, 0, n, false, b, 0, n, false, c1, 0, n, false);
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 5; rep++) {
            long t0 = System.nanoTime();
            Gemm.gemm(n, n, n, a, 0, n, false, b, 0, n, false, c1, 0, n, false);
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf("blocked Gemm (%d threads): %dx%dx%d in %.3f s = %.2f GFLOP/s%n",
                Par.parallelism(), n, n, n, best, flops / best / 1e9);
        ForkJoinPool one = new ForkJoinPool(1);
        try {
            double single = one.submit(() -> {
                double b1 = Double.MAX_VALUE;
                for (int rep = 0; rep < 3; rep++) {
                    long t0 = System.nanoTime();
                    Gemm.gemm(n, n, n, a, 0, n, false, b, 0, n, false, c1, 0, n, false);
                    b1 = Math.min(b1, (System.nanoTime() - t0) / 1e9);
                }
                return b1;
            }).get();
            System.out.printf("blocked Gemm (1 thread): %dx%dx%d in %.3f s = %.2f GFLOP/s%n", n, n, n,
                    single, flops / single / 1e9);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            one.shutdown();
        }
        Gemm.naive(Math.min(n, 256), Math.min(n, 256), Math.min(n, 256), a, b, c2); // warm up
        long t0 = System.nanoTime();
        Gemm.naive(n, n, n, a, b, c2);
        double naive = (System.nanoTime() - t0) / 1e9;
        System.out.printf("naive triple loop (1 thread): %dx%dx%d in %.3f s = %.2f GFLOP/s%n", n, n, n,
                naive, flops / naive / 1e9);
        double maxDiff = 0;
        for (int i = 0; i < c1.length; i++) maxDiff = Math.max(maxDiff, Math.abs(c1[i] - c2[i]));
        System.out.printf("max |difference| = %.3g%n", maxDiff);
    }
}

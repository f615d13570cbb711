package memplan.cli;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Locale;
import java.util.concurrent.CyclicBarrier;

/**
 * The machine's fp32 FMA peak: each of T threads runs twelve independent chains of vector fused multiply-adds at
 * the widest vector the JVM offers (registers only, no memory traffic), all at once, and the probe prints the
 * total GFLOP/s. It needs {@code --add-modules jdk.incubator.vector}, so {@code bench cpu} runs it in a child JVM
 * ({@code java --add-modules jdk.incubator.vector -cp JAR memplan.cli.FmaPeakProbe THREADS}).
 */
public final class FmaPeakProbe {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int CHAINS = 12;

    private FmaPeakProbe() {
    }

    /** reps rounds of CHAINS vector FMAs; the returned sum keeps the JIT from dropping the work. */
    static float chains(long reps) {
        FloatVector x = FloatVector.broadcast(S, 0.999f), y = FloatVector.broadcast(S, 0.001f);
        FloatVector a0 = FloatVector.broadcast(S, 1), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
        FloatVector a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7);
        FloatVector a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        for (long r = 0; r < reps; r++) {
            a0 = a0.fma(x, y);
            a1 = a1.fma(x, y);
            a2 = a2.fma(x, y);
            a3 = a3.fma(x, y);
            a4 = a4.fma(x, y);
            a5 = a5.fma(x, y);
            a6 = a6.fma(x, y);
            a7 = a7.fma(x, y);
            a8 = a8.fma(x, y);
            a9 = a9.fma(x, y);
            a10 = a10.fma(x, y);
            a11 = a11.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }

    /** GFLOP/s of {@code threads} threads running the chains together (best of five timed rounds each). */
    static double measure(int threads) throws Exception {
        for (int w = 0; w < 20; w++) chains(200_000); // compiled before timing
        long reps = 20_000_000;
        double[] best = new double[threads];
        CyclicBarrier start = new CyclicBarrier(threads);
        Thread[] ts = new Thread[threads];
        float[] sink = new float[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            best[id] = Double.MAX_VALUE;
            ts[t] = new Thread(() -> {
                try {
                    for (int round = 0; round < 5; round++) {
                        start.await();
                        long t0 = System.nanoTime();
                        sink[id] += chains(reps);
                        best[id] = Math.min(best[id], (System.nanoTime() - t0) / 1e9);
                    }
                } catch (Exception e) {
                    best[id] = Double.NaN;
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        double total = 0;
        for (double b : best) total += (double) reps * CHAINS * S.length() * 2 / b / 1e9;
        return total;
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        System.out.printf(Locale.ROOT, "fmaPeakGflops=%.3f lanes=%d%n", measure(threads), S.length());
    }
}

package memplan.backend.cpu;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.model.ModelDef;
import memplan.ops.Conv2d;
import memplan.ops.Input;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;

/**
 * Times one forward and one backward (both gradients) of ResNet-18's 3x3 stride-1 convolutions by im2col and by
 * {@link WinogradConv}, the two alternately in one JVM so that a noisy machine treats both alike, and prints the
 * best of each. At one thread it counts the thread's CPU time, else wall time.
 * Run: {@code java -cp app/target/memplan.jar memplan.backend.cpu.WinogradBench [batch [threads [rounds]]]}.
 */
public final class WinogradBench {
    private WinogradBench() {
    }

    public static void main(String[] args) throws Exception {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 12;
        boolean was = WinogradConv.isEnabled();
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            pool.submit(() -> {
                System.out.printf(Locale.ROOT, "%s; batch %d, %d thread(s), best of %d, %s%n", Gemm.implementation(),
                        batch, threads, rounds, threads == 1 ? "thread CPU time" : "wall time");
                for (int[] l : new int[][] {{64, 56}, {128, 28}, {256, 14}, {512, 7}}) run(batch, l[0], l[1], rounds);
                return null;
            }).get();
        } finally {
            WinogradConv.setEnabled(was);
            pool.shutdown();
        }
    }

    private static void run(int batch, int channels, int size, int rounds) {
        Conv2d op = Conv2d.of(channels, 3, 1, 1, false);
        ModelDef.Builder b = ModelDef.builder("bench");
        String x = b.add("x", new Input(List.of(Integer.toString(batch), Integer.toString(channels),
                Integer.toString(size), Integer.toString(size)), null));
        b.add("conv", op, x);
        Node n = Graph.instantiate(b.build(), batch, DType.FP32).node("conv");
        Shape in = n.inShapes().get(0), out = n.outShapes().get(0);
        CpuKernel k = CpuKernels.of(op);
        Buf xb = random(in), y = random(out), gy = random(out), gx = random(in);
        Buf w = random(op.params(n.inShapes()).get(0).shape()), gw = random(w.shape());
        double[][] best = {{Double.MAX_VALUE, Double.MAX_VALUE}, {Double.MAX_VALUE, Double.MAX_VALUE}};
        for (int r = 0; r < rounds + 2; r++) {
            for (int v = 0; v < 2; v++) {
                WinogradConv.setEnabled(v == 1);
                long t0 = now();
                k.forward(new ForwardArgs(n, new Buf[] {xb}, new Buf[] {y}, new Buf[] {w}, new Buf[0], null, true,
                        false, 42));
                long t1 = now();
                k.backward(new BackwardArgs(n, new Buf[] {xb}, new Buf[] {y}, new Buf[] {w}, new Buf[0],
                        new Buf[] {gy}, new Buf[] {gx}, new Buf[] {gw}, new boolean[1], new boolean[1], null));
                long t2 = now();
                if (r < 2) continue; // warm-up
                best[v][0] = Math.min(best[v][0], (t1 - t0) / 1e6);
                best[v][1] = Math.min(best[v][1], (t2 - t1) / 1e6);
            }
        }
        if (!WinogradConv.allows(op, in, out)) {
            // both runs took im2col: one figure, from the better of the two
            System.out.printf(Locale.ROOT, "%3d channels %3dx%-3d im2col %6.1f + %6.1f ms (Winograd is not taken at "
                    + "this batch)%n", channels, size, size, Math.min(best[0][0], best[1][0]),
                    Math.min(best[0][1], best[1][1]));
            return;
        }
        System.out.printf(Locale.ROOT, "%3d channels %3dx%-3d im2col %6.1f + %6.1f ms, Winograd %6.1f + %6.1f ms: "
                        + "%.2fx%n", channels, size, size, best[0][0], best[0][1], best[1][0], best[1][1],
                (best[0][0] + best[0][1]) / (best[1][0] + best[1][1]));
    }

    /** Thread CPU time on one thread (what other processes take does not count), else wall time. */
    private static long now() {
        return Par.parallelism() == 1
                ? ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime()
                : System.nanoTime();
    }

    private static Buf random(Shape s) {
        float[] d = new float[(int) s.numel()];
        Random r = new Random(1);
        for (int i = 0; i < d.length; i++) d[i] = r.nextFloat() - 0.5f;
        return new Buf(d, 0, s, DType.FP32);
    }
}

package memplan.backend.cpu;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.ops.*;
import java.lang.management.*;
import java.util.*;
/** Scratch: thread CPU of one Conv2d forward + backward (gW and gX) at 1 thread, best of 7, ResNet-18 shapes. */
public class ConvTime {
    static Buf buf(Shape s) { float[] d = new float[(int) s.numel()]; Random r = new Random(1); for (int i = 0; i < d.length; i++) d[i] = r.nextFloat() - 0.5f; return new Buf(d, 0, s, DType.FP32); }
    public static void main(String[] a) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        if (a.length > 0) GemmKernels.ConvK.stageFloats = Long.parseLong(a[0]);
        Object[][] cases = {
            {"conv1 3->64 7x7/2 224", new Conv2d(64, Pair.of(7), Pair.of(2), Pair.of(3), Pair.of(1), 1, false), Shape.of(8, 3, 224, 224), false},
            {"l1 64->64 3x3 56", new Conv2d(64, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 1, false), Shape.of(8, 64, 56, 56), true},
            {"l2 128->128 3x3 28", new Conv2d(128, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 1, false), Shape.of(8, 128, 28, 28), true},
            {"l3 256->256 3x3 14", new Conv2d(256, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 1, false), Shape.of(8, 256, 14, 14), true},
            {"l4 512->512 3x3 7", new Conv2d(512, Pair.of(3), Pair.of(1), Pair.of(1), Pair.of(1), 1, false), Shape.of(8, 512, 7, 7), true},
        };
        java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(1);
        pool.submit(() -> {
            for (Object[] c : cases) {
                Node n = CpuHarness.node((Op) c[1], null, (Shape) c[2]);
                CpuKernel k = CpuKernels.of(n.op());
                Buf x = buf(n.inShapes().get(0)), y = buf(n.outShapes().get(0)), gy = buf(n.outShapes().get(0));
                Buf w = buf(n.op().params(n.inShapes()).get(0).shape()), gw = buf(w.shape());
                Buf gx = (Boolean) c[3] ? buf(x.shape()) : null;
                double fBest = 1e9, bBest = 1e9;
                for (int r = 0; r < 7; r++) {
                    long t0 = mx.getCurrentThreadCpuTime();
                    k.forward(new ForwardArgs(n, new Buf[]{x}, new Buf[]{y}, new Buf[]{w}, new Buf[0], null, true, false, 42));
                    long t1 = mx.getCurrentThreadCpuTime();
                    k.backward(new BackwardArgs(n, new Buf[]{x}, new Buf[]{y}, new Buf[]{w}, new Buf[0], new Buf[]{gy}, new Buf[]{gx}, new Buf[]{gw}, new boolean[1], new boolean[1], null));
                    long t2 = mx.getCurrentThreadCpuTime();
                    fBest = Math.min(fBest, (t1 - t0) / 1e6); bBest = Math.min(bBest, (t2 - t1) / 1e6);
                }
                System.out.printf(Locale.ROOT, "%-24s forward %7.1f ms  backward %7.1f ms%n", c[0], fBest, bBest);
            }
        }).get();
    }
}

import memplan.backend.Backend;
import memplan.backend.cpu.CpuBackendProvider;
import memplan.exec.*;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.plan.Plan;
import memplan.samples.SampleModels;
import memplan.sim.DeviceModel;
import memplan.train.*;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.*;
import java.util.concurrent.ForkJoinPool;

/** Scratch: thread CPU (all pool workers + caller) and wall per step of the baseline plan. */
public class StepCpu {
    public static void main(String[] args) throws Exception {
        String model = args[0]; int batch = Integer.parseInt(args[1]), t = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        Schedule s = TrainingGraph.derive(Graph.instantiate(SampleModels.load(model), batch, DType.FP32),
                Optimizer.parse("sgd"));
        Plan plan = Plan.baseline(s);
        DeviceModel device = DeviceModel.preset("cpu");
        ForkJoinPool pool = new ForkJoinPool(t);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        List<Double> wall = new ArrayList<>(), cpu = new ArrayList<>();
        try (Backend b = new CpuBackendProvider().open(8L << 30)) {
            long[] last = {0, 0};
            ProgressListener l = new ProgressListener() {
                @Override public void iterationDone(IterationResult r) {
                    long c = allCpu(mx), w = System.nanoTime();
                    if (last[1] != 0) { cpu.add((c - last[0]) / 1e9); wall.add((w - last[1]) / 1e9); }
                    last[0] = c; last[1] = w;
                }
            };
            pool.submit(() -> new Executor(plan, device).run(b, new RunConfig(steps, 0.01, 42), l, () -> false)).get();
        }
        pool.shutdown();
        int drop = cpu.size() / 3;
        double[] c = cpu.subList(drop, cpu.size()).stream().mapToDouble(d -> d).sorted().toArray();
        double[] w = wall.subList(drop, wall.size()).stream().mapToDouble(d -> d).sorted().toArray();
        System.out.printf(Locale.ROOT, "%s b%d t%d: wall median %.3f s min %.3f; all-thread CPU median %.3f s min %.3f (n=%d)%n",
                model, batch, t, w[w.length / 2], w[0], c[c.length / 2], c[0], c.length);
    }

    static long allCpu(ThreadMXBean mx) {
        long sum = 0;
        for (long id : mx.getAllThreadIds()) { long v = mx.getThreadCpuTime(id); if (v > 0) sum += v; }
        return sum;
    }
}

package memplan.backend.cpu;

import memplan.backend.Backend;
import memplan.backend.BackendException;
import memplan.backend.Bindings;
import memplan.backend.Codec;
import memplan.backend.DeviceOutOfMemoryException;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.train.Optimizer;
import memplan.units.ByteSize;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The reference backend: device memory is one {@code float[]} arena of the plan's size, so a tensor really lives at
 * its planned offset and a wrong plan corrupts results. Kernels run on the calling thread (using all cores inside);
 * the copy stream is one background thread, so swaps overlap compute as on a GPU.
 */
public final class CpuBackend implements Backend {
    private final long capacity;
    private float[] arena = new float[0];
    private final ExecutorService copyStream = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "memplan-copy-stream");
        t.setDaemon(true);
        return t;
    });
    private long computeNanos;
    /**
     * The copy submitted last (the stream runs copies in order, so it finishing means all have): synchronize
     * waits on it rather than handing the stream an empty task, a thread switch per iteration that a loaded
     * machine makes cost milliseconds.
     */
    private volatile Future<?> lastCopy;

    public CpuBackend(long capacityBytes) {
        this.capacity = capacityBytes;
    }

    @Override public String name() { return "cpu"; }

    @Override
    public String deviceDescription() {
        return "CPU reference, " + Par.parallelism() + " threads, GEMM: " + Gemm.implementation() + ", device of "
                + ByteSize.format(capacity);
    }

    @Override public long capacityBytes() { return capacity; }

    @Override
    public void allocateArena(long bytes) {
        if (bytes > capacity)
            throw new DeviceOutOfMemoryException("the arena needs " + ByteSize.format(bytes) + " but the device has "
                    + ByteSize.format(capacity), bytes, capacity);
        long slots = (bytes + 3) / 4;
        if (slots > Integer.MAX_VALUE - 8)
            throw new DeviceOutOfMemoryException("the CPU backend's arena is limited to 8 GiB; asked for "
                    + ByteSize.format(bytes), bytes, capacity);
        try {
            arena = null; // let a previous arena go first
            arena = new float[(int) slots];
        } catch (OutOfMemoryError e) {
            arena = new float[0];
            throw new DeviceOutOfMemoryException("the Java heap cannot hold an arena of " + ByteSize.format(bytes)
                    + " (raise -Xmx or use a smaller plan)", bytes, Runtime.getRuntime().maxMemory());
        }
    }

    @Override public long arenaBytes() { return 4L * arena.length; }

    @Override
    public HostBuffer allocateHost(long bytes) {
        return new CpuHost(new float[(int) ((bytes + 3) / 4)]);
    }

    record CpuHost(float[] data) implements HostBuffer {
        @Override public long bytes() { return 4L * data.length; }
    }

    @Override
    public void write(long offset, float[] src, int from, int count) {
        System.arraycopy(src, from, arena, slot(offset), count);
    }

    @Override
    public void read(long offset, float[] dst, int from, int count) {
        System.arraycopy(arena, slot(offset), dst, from, count);
    }

    @Override
    public void zero(long offset, long bytes) {
        int s = slot(offset);
        Arrays.fill(arena, s, s + (int) ((bytes + 3) / 4), 0f);
    }

    private static int slot(long offset) {
        if ((offset & 3) != 0) throw new IllegalArgumentException("offset " + offset + " is not 4-byte aligned");
        return (int) (offset >>> 2);
    }

    private Buf buf(long offset, Shape shape, DType dtype) {
        return offset < 0 ? null : new Buf(arena, slot(offset), shape, dtype);
    }

    private Buf[] bufs(long[] offsets, List<Shape> shapes, List<DType> dtypes) {
        if (offsets == null) return null;
        Buf[] b = new Buf[offsets.length];
        for (int i = 0; i < b.length; i++) b[i] = buf(offsets[i], shapes.get(i), dtypes.get(i));
        return b;
    }

    // plain loops, not streams: these run for every op of every step, which for tiny models is most of the step
    private static List<Shape> shapes(Graph g, int[] values) {
        Shape[] s = new Shape[values.length];
        for (int i = 0; i < s.length; i++) s[i] = g.value(values[i]).shape();
        return Arrays.asList(s);
    }

    private static List<DType> dtypes(Graph g, int[] values) {
        DType[] d = new DType[values.length];
        for (int i = 0; i < d.length; i++) d[i] = g.value(values[i]).dtype();
        return Arrays.asList(d);
    }

    private static List<DType> inDtypes(Graph g, Node n) {
        return dtypes(g, n.inputs());
    }

    @Override
    public void forward(Graph g, Node n, Bindings b, boolean training, boolean recompute, long seed) {
        long t0 = System.nanoTime();
        ForwardArgs a = new ForwardArgs(n, bufs(b.in(), n.inShapes(), inDtypes(g, n)), bufs(b.out(),
                n.outShapes(), dtypes(g, n.outputs())),
                bufs(b.params(), shapes(g, n.params()), dtypes(g, n.params())), bufs(b.aux(),
                        shapes(g, n.aux()), dtypes(g, n.aux())),
                workspace(n, b.workspace(), false), training, recompute, seed);
        CpuKernels.of(n.op()).forward(a);
        computeNanos += System.nanoTime() - t0;
    }

    /** The planned scratch area as a flat fp32 buffer of the size the op declares. */
    private Buf workspace(Node n, long offset, boolean backward) {
        if (offset < 0) return null;
        long e = backward ? n.op().backwardWorkspaceElements(n.inShapes(), n.outShapes())
                : n.op().workspaceElements(n.inShapes(), n.outShapes());
        return e <= 0 ? null : buf(offset, Shape.of((int) e), DType.FP32);
    }

    @Override
    public void backward(Graph g, Node n, Bindings b) {
        long t0 = System.nanoTime();
        List<DType> gradIn = inDtypes(g, n);
        BackwardArgs a = new BackwardArgs(n, bufs(b.in(), n.inShapes(), inDtypes(g, n)), bufs(b.out(),
                n.outShapes(), dtypes(g, n.outputs())),
                bufs(b.params(), shapes(g, n.params()), dtypes(g, n.params())), bufs(b.aux(),
                        shapes(g, n.aux()), dtypes(g, n.aux())),
                bufs(b.gradOut(), n.outShapes(), dtypes(g, n.outputs())), bufs(b.gradIn(), n.inShapes(), gradIn),
                bufs(b.gradParams(), shapes(g, n.params()), dtypes(g, n.params())), b.accumulateIn(),
                        b.accumulateParams(), workspace(n, b.workspace(), true));
        CpuKernels.of(n.op()).backward(a);
        computeNanos += System.nanoTime() - t0;
    }

    @Override
    public void optimizerStep(Optimizer optimizer, double lr, long param, long grad, long[] states, long numel, int t) {
        long t0 = System.nanoTime();
        Shape s = Shape.of((int) numel);
        Buf p = buf(param, s, DType.FP32), gr = buf(grad, s, DType.FP32);
        switch (optimizer) {
            case SGD -> CpuOptimizers.sgd(p, gr, buf(states[0], s, DType.FP32), lr);
            case ADAM -> CpuOptimizers.adam(p, gr, buf(states[0], s, DType.FP32), buf(states[1], s, DType.FP32), lr, t);
        }
        computeNanos += System.nanoTime() - t0;
    }

    @Override
    public void encode(Codec codec, long src, long dst, long numel, double density, String tensorName) {
        long t0 = System.nanoTime();
        Shape s = Shape.of((int) numel);
        long enc = codec.encodedBytes(numel, density);
        Codecs.encode(codec, buf(src, s, DType.FP32), buf(dst, Shape.of((int) (enc / 4)),
                DType.FP32), density, tensorName);
        computeNanos += System.nanoTime() - t0;
    }

    @Override
    public void decode(Codec codec, long src, long dst, long numel, double density) {
        long t0 = System.nanoTime();
        Shape s = Shape.of((int) numel);
        long enc = codec.encodedBytes(numel, density);
        Codecs.decode(codec, buf(src, Shape.of((int) (enc / 4)), DType.FP32), buf(dst, s, DType.FP32), density);
        computeNanos += System.nanoTime() - t0;
    }

    record CopyEvent(Future<?> done) implements Event {
        @Override public boolean isDone() { return done.isDone(); }
    }

    @Override
    public Event copyToHost(long deviceOffset, HostBuffer host, long hostOffset, long bytes) {
        float[] a = arena, h = ((CpuHost) host).data();
        int from = slot(deviceOffset), to = slot(hostOffset), n = (int) ((bytes + 3) / 4);
        return new CopyEvent(lastCopy = copyStream.submit(() -> System.arraycopy(a, from, h, to, n)));
    }

    @Override
    public Event copyToDevice(HostBuffer host, long hostOffset, long deviceOffset, long bytes) {
        float[] a = arena, h = ((CpuHost) host).data();
        int from = slot(hostOffset), to = slot(deviceOffset), n = (int) ((bytes + 3) / 4);
        return new CopyEvent(lastCopy = copyStream.submit(() -> System.arraycopy(h, from, a, to, n)));
    }

    @Override
    public void computeWaits(Event event) {
        hostWaits(event); // compute runs on this thread, so waiting here orders it after the copy
    }

    @Override
    public void hostWaits(Event event) {
        try {
            ((CopyEvent) event).done().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackendException("interrupted while waiting for a copy", e);
        } catch (ExecutionException e) {
            throw new BackendException("a copy on the copy stream failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public void synchronize() {
        try {
            Future<?> last = lastCopy;
            if (last != null) last.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new BackendException("copy stream failed", e);
        }
    }

    @Override
    public long drainComputeNanos() {
        long n = computeNanos;
        computeNanos = 0;
        return n;
    }

    @Override public long deviceMemoryUsed() { return arenaBytes(); }

    @Override
    public void close() {
        copyStream.shutdownNow();
        arena = new float[0];
    }
}

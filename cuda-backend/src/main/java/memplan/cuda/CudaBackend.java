package memplan.cuda;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import memplan.backend.Backend;
import memplan.backend.BackendException;
import memplan.backend.Bindings;
import memplan.backend.Codec;
import memplan.backend.DeviceOutOfMemoryException;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.train.Optimizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static jcuda.driver.JCudaDriver.*;

/**
 * The CUDA backend: one device arena (a single cuMemAlloc of the plan's size) with tensors at their planned byte
 * offsets, kernels on a compute stream, swaps on a separate copy stream into pinned host buffers, ordered with CUDA
 * events so a prefetch overlaps compute. Kernels are MemPlan's own (PTX resources, no cuBLAS/cuDNN).
 * <p>
 * Set the system property {@code memplan.cuda.sync=true} to synchronise after every kernel (slow; pins an
 * asynchronous CUDA error to the launch that caused it).
 */
public final class CudaBackend extends KernelHost implements Backend {
    private static final boolean SYNC_EVERY_LAUNCH = Boolean.getBoolean("memplan.cuda.sync");

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream compute = new CUstream();
    private final CUstream copy = new CUstream();
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<Kernels.Spec, CUfunction> functions = new HashMap<>();
    private final ThreadLocal<Boolean> bound = ThreadLocal.withInitial(() -> false);
    private final String description;
    private final long capacity;
    private final List<CudaHostBuffer> hostBuffers = new ArrayList<>();
    private final List<CudaEvent> outstanding = new ArrayList<>();
    private final List<String> sparseEncoded = new ArrayList<>();
    private final CudaOps ops;
    private CUdeviceptr arena;
    private long arenaBytes;
    private CUdeviceptr status;        // 256 bytes outside the arena: kernel-side error flags (sparse overflow)
    private CUevent timingStart;
    private boolean closed;

    CudaBackend(long deviceBytes) {
        cuDeviceGet(device, 0);
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        bound.set(true);
        boolean ok = false;
        try {
            cuStreamCreate(compute, CUstream_flags.CU_STREAM_NON_BLOCKING);
            cuStreamCreate(copy, CUstream_flags.CU_STREAM_NON_BLOCKING);
            for (String m : Kernels.MODULES) loadModule(m);
            for (Kernels.Spec k : Kernels.all()) {
                CUfunction f = new CUfunction();
                cuModuleGetFunction(f, modules.get(k.module()), k.name());
                functions.put(k, f);
            }
            status = new CUdeviceptr();
            cuMemAlloc(status, 256);
            cuMemsetD8(status, (byte) 0, 256);
            long[] free = new long[1], total = new long[1];
            cuMemGetInfo(free, total);
            capacity = deviceBytes > 0 ? Math.min(deviceBytes, free[0]) : free[0];
            int[] drv = new int[1];
            cuDriverGetVersion(drv);
            int cc = CudaBackendProvider.computeCapability(device);
            description = CudaBackendProvider.deviceName(device)
                    + String.format(" (%.1f GiB, compute capability %d.%d), driver CUDA %s",
                    total[0] / (1024.0 * 1024 * 1024), cc / 10, cc % 10, CudaBackendProvider.cudaVersion(drv[0]));
            timingStart = timingEvent();
            cuEventRecord(timingStart, compute);
            ops = new CudaOps(this);
            ok = true;
        } finally {
            if (!ok) release();
        }
    }

    private void loadModule(String name) {
        byte[] ptx;
        try (InputStream in = CudaBackend.class.getResourceAsStream(Kernels.resource(name))) {
            if (in == null) throw new BackendException("CUDA kernels missing from the class path: "
                    + Kernels.resource(name));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            out.write(0);                       // cuModuleLoadData wants a NUL-terminated image
            ptx = out.toByteArray();
        } catch (IOException e) {
            throw new BackendException("cannot read " + Kernels.resource(name) + ": " + e.getMessage(), e);
        }
        CUmodule m = new CUmodule();
        try {
            cuModuleLoadData(m, ptx);
        } catch (CudaException e) {
            throw new BackendException("the CUDA driver rejected the PTX of " + name + " (" + e.getMessage()
                    + "); the kernels are PTX ISA 8.0 for compute_75 and need a CUDA 12.0+ driver", e);
        }
        modules.put(name, m);
    }

    // ---------------------------------------------------------------- plumbing used by CudaOps

    /** Makes the context current on the calling thread (JCuda calls need it). */
    void bind() {
        if (closed) throw new BackendException("the CUDA backend is closed");
        if (!bound.get()) {
            cuCtxSetCurrent(context);
            bound.set(true);
        }
    }

    @Override
    CUdeviceptr dev(long offset) {
        if (offset < 0) return new CUdeviceptr();
        if (arena == null || offset > arenaBytes)
            throw new BackendException("offset " + offset + " is outside the arena of " + arenaBytes + " bytes");
        return arena.withByteOffset(offset);
    }

    @Override
    CUdeviceptr statusPtr() {
        return status;
    }

    @Override
    void launch(Kernels.Spec k, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, Object... args) {
        checkArgs(k, args, a -> a instanceof CUdeviceptr);
        Pointer[] ps = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            ps[i] = switch (k.signature().charAt(i)) {
                case 'p' -> Pointer.to((CUdeviceptr) a);
                case 'l' -> Pointer.to(new long[]{(Long) a});
                case 'i' -> Pointer.to(new int[]{(Integer) a});
                case 'd' -> Pointer.to(new double[]{(Double) a});
                default -> Pointer.to(new float[]{(Float) a});
            };
        }
        if (gx <= 0 || gy <= 0 || gz <= 0) return;   // nothing to do
        cuLaunchKernel(functions.get(k), gx, gy, gz, bx, by, bz, sharedBytes, compute, Pointer.to(ps), null);
        if (SYNC_EVERY_LAUNCH) {
            try {
                cuStreamSynchronize(compute);
            } catch (CudaException e) {
                throw new BackendException("kernel " + k + " failed: " + e.getMessage(), e);
            }
        }
    }

    @Override
    void memsetBytes(long offset, byte value, long bytes) {
        if (bytes <= 0) return;
        cuMemsetD8Async(dev(offset), value, bytes, compute);
    }

    // ---------------------------------------------------------------- Backend

    @Override public String name() { return "cuda"; }
    @Override public String deviceDescription() { return description; }
    @Override public long capacityBytes() { return capacity; }
    @Override public long arenaBytes() { return arenaBytes; }

    @Override
    public void allocateArena(long bytes) {
        bind();
        if (bytes > capacity)
            throw new DeviceOutOfMemoryException(String.format("the plan needs an arena of %,d bytes but the GPU "
                    + "can give %,d",
                    bytes, capacity), bytes, capacity);
        synchronize();
        if (arena != null) {
            cuMemFree(arena);
            arena = null;
            arenaBytes = 0;
        }
        CUdeviceptr p = new CUdeviceptr();
        try {
            cuMemAlloc(p, Math.max(bytes, ALIGNMENT));
        } catch (CudaException e) {
            if (String.valueOf(e.getMessage()).contains("OUT_OF_MEMORY"))
                throw new DeviceOutOfMemoryException(String.format("cuMemAlloc of a %,d-byte arena failed: out of "
                        + "GPU memory"
                        + " (%,d bytes free)", bytes, freeBytes()), bytes, capacity);
            throw new BackendException("cuMemAlloc of " + bytes + " bytes failed: " + e.getMessage(), e);
        }
        arena = p;
        arenaBytes = bytes;
    }

    private long freeBytes() {
        long[] free = new long[1], total = new long[1];
        cuMemGetInfo(free, total);
        return free[0];
    }

    @Override
    public HostBuffer allocateHost(long bytes) {
        bind();
        Pointer p = new Pointer();
        try {
            cuMemAllocHost(p, Math.max(bytes, 1));
        } catch (CudaException e) {
            throw new BackendException("cannot pin " + bytes + " bytes of host memory for swaps: " + e.getMessage(), e);
        }
        CudaHostBuffer h = new CudaHostBuffer(p, bytes);
        hostBuffers.add(h);
        return h;
    }

    @Override
    public void write(long offset, float[] src, int from, int count) {
        bind();
        if (count <= 0) return;
        checkRange(offset, 4L * count);
        syncStreams();
        cuMemcpyHtoD(dev(offset), Pointer.to(src).withByteOffset(4L * from), 4L * count);
    }

    @Override
    public void read(long offset, float[] dst, int from, int count) {
        bind();
        if (count <= 0) return;
        checkRange(offset, 4L * count);
        syncStreams();
        cuMemcpyDtoH(Pointer.to(dst).withByteOffset(4L * from), dev(offset), 4L * count);
    }

    private void checkRange(long offset, long bytes) {
        if (offset < 0 || offset + bytes > arenaBytes)
            throw new BackendException("bytes [" + offset + ", " + (offset + bytes) + ") are outside the arena of "
                    + arenaBytes + " bytes");
    }

    @Override
    public void zero(long offset, long bytes) {
        bind();
        checkRange(offset, bytes);
        memsetZero(offset, bytes);
    }

    @Override
    public void forward(Graph graph, Node node, Bindings b, boolean training, boolean recompute, long seed) {
        bind();
        try {
            ops.forward(graph, node, b, training, recompute, seed);
        } catch (CudaException e) {
            throw new BackendException("CUDA error in the forward of " + node.name() + " (" + node.op().type() + "): "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void backward(Graph graph, Node node, Bindings b) {
        bind();
        try {
            ops.backward(graph, node, b);
        } catch (CudaException e) {
            throw new BackendException("CUDA error in the backward of " + node.name() + " (" + node.op().type() + "): "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void optimizerStep(Optimizer optimizer, double learningRate, long param, long grad, long[] states,
            long numel, int t) {
        bind();
        ops.optimizerStep(optimizer, learningRate, param, grad, states, numel, t);
    }

    @Override
    public void encode(Codec codec, long src, long dst, long numel, double density, String tensorName) {
        bind();
        ops.encode(codec, src, dst, numel, density);
        if (codec == Codec.SPARSE) sparseEncoded.add(tensorName);
    }

    @Override
    public void decode(Codec codec, long src, long dst, long numel, double density) {
        bind();
        ops.decode(codec, src, dst, numel, density);
    }

    @Override
    public Event copyToHost(long deviceOffset, HostBuffer host, long hostOffset, long bytes) {
        bind();
        checkRange(deviceOffset, bytes);
        CudaHostBuffer h = hostBuffer(host, hostOffset, bytes);
        copyAfterCompute();
        cuMemcpyDtoHAsync(h.pointer.withByteOffset(hostOffset), dev(deviceOffset), bytes, copy);
        return recordCopy();
    }

    @Override
    public Event copyToDevice(HostBuffer host, long hostOffset, long deviceOffset, long bytes) {
        bind();
        checkRange(deviceOffset, bytes);
        CudaHostBuffer h = hostBuffer(host, hostOffset, bytes);
        copyAfterCompute();   // the destination may still be read by queued kernels (memory reused by the plan)
        cuMemcpyHtoDAsync(dev(deviceOffset), h.pointer.withByteOffset(hostOffset), bytes, copy);
        return recordCopy();
    }

    private CudaHostBuffer hostBuffer(HostBuffer host, long offset, long bytes) {
        if (!(host instanceof CudaHostBuffer h) || h.freed)
            throw new BackendException("host buffer was not allocated by this CUDA backend (or is freed)");
        if (offset < 0 || offset + bytes > h.bytes)
            throw new BackendException("bytes [" + offset + ", " + (offset + bytes) + ") are outside a host buffer of "
                    + h.bytes);
        return h;
    }

    /** The copy stream waits for the compute issued so far. */
    private void copyAfterCompute() {
        CUevent e = new CUevent();
        cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING);
        cuEventRecord(e, compute);
        cuStreamWaitEvent(copy, e, 0);
        cuEventDestroy(e);     // released once it completes
    }

    private CudaEvent recordCopy() {
        CUevent e = new CUevent();
        cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING);
        cuEventRecord(e, copy);
        CudaEvent ev = new CudaEvent(e);
        outstanding.add(ev);
        return ev;
    }

    @Override
    public void computeWaits(Event event) {
        bind();
        CudaEvent e = (CudaEvent) event;
        if (!e.done) cuStreamWaitEvent(compute, e.event, 0);
    }

    @Override
    public void hostWaits(Event event) {
        bind();
        CudaEvent e = (CudaEvent) event;
        if (!e.done) cuEventSynchronize(e.event);
    }

    private void syncStreams() {
        cuStreamSynchronize(compute);
        cuStreamSynchronize(copy);
    }

    @Override
    public void synchronize() {
        bind();
        syncStreams();
        for (CudaEvent e : outstanding) {
            e.done = true;
            cuEventDestroy(e.event);
        }
        outstanding.clear();
        if (!sparseEncoded.isEmpty()) {
            int[] flag = new int[1];
            cuMemcpyDtoH(Pointer.to(flag), status, 4);
            List<String> names = new ArrayList<>(sparseEncoded);
            sparseEncoded.clear();
            if (flag[0] != 0) {
                cuMemsetD8(status, (byte) 0, 4);
                throw new BackendException("a sparse encoding had more non-zeros than its planned density allows; the"
                        + " extra values were dropped (one of: " + String.join(", ", names) + ")");
            }
        }
    }

    @Override
    public long drainComputeNanos() {
        bind();
        CUevent end = timingEvent();
        cuEventRecord(end, compute);
        cuEventSynchronize(end);
        float[] ms = new float[1];
        cuEventElapsedTime(ms, timingStart, end);
        cuEventDestroy(timingStart);
        timingStart = end;
        return Math.round(ms[0] * 1e6);
    }

    private static CUevent timingEvent() {
        CUevent e = new CUevent();
        cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT);
        return e;
    }

    @Override
    public long deviceMemoryUsed() {
        bind();
        long[] free = new long[1], total = new long[1];
        cuMemGetInfo(free, total);
        return total[0] - free[0];
    }

    @Override
    public void close() {
        if (closed) return;
        try {
            cuCtxSetCurrent(context);
            syncStreams();
        } catch (Throwable ignored) {
            // a failed kernel leaves the context unusable; free what can be freed
        }
        release();
    }

    private void release() {
        closed = true;
        try {
            for (CudaEvent e : outstanding) if (!e.done) { e.done = true; cuEventDestroy(e.event); }
            outstanding.clear();
            for (CudaHostBuffer h : hostBuffers) if (!h.freed) { h.freed = true; cuMemFreeHost(h.pointer); }
            hostBuffers.clear();
            if (arena != null) cuMemFree(arena);
            arena = null;
            arenaBytes = 0;
            if (status != null) cuMemFree(status);
            status = null;
            if (timingStart != null) cuEventDestroy(timingStart);
            timingStart = null;
            for (CUmodule m : modules.values()) cuModuleUnload(m);
            modules.clear();
        } catch (Throwable ignored) {
            // best effort
        }
        try {
            cuStreamDestroy(compute);
            cuStreamDestroy(copy);
        } catch (Throwable ignored) {
            // streams may not exist if open failed early
        }
        try {
            cuDevicePrimaryCtxRelease(device);
        } catch (Throwable ignored) {
            // nothing left to do
        }
    }

    /** Pinned host memory (cuMemAllocHost). */
    static final class CudaHostBuffer implements HostBuffer {
        final Pointer pointer;
        final long bytes;
        boolean freed;

        CudaHostBuffer(Pointer pointer, long bytes) {
            this.pointer = pointer;
            this.bytes = bytes;
        }

        @Override
        public long bytes() {
            return bytes;
        }
    }

    /** Completion of a copy: a CUDA event on the copy stream; destroyed (and reported done) at synchronize(). */
    static final class CudaEvent implements Event {
        final CUevent event;
        boolean done;

        CudaEvent(CUevent event) {
            this.event = event;
        }

        @Override
        public boolean isDone() {
            if (done) return true;
            try {
                return cuEventQuery(event) == CUresult.CUDA_SUCCESS;
            } catch (CudaException e) {   // with exceptions enabled, CUDA_ERROR_NOT_READY arrives as an exception
                if (String.valueOf(e.getMessage()).contains("NOT_READY")) return false;
                throw e;
            }
        }
    }
}

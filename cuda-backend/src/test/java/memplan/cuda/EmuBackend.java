package memplan.cuda;

import memplan.backend.Backend;
import memplan.backend.BackendException;
import memplan.backend.Bindings;
import memplan.backend.Codec;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.train.Optimizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Backend that runs {@link CudaOps} and the real src/main/cuda kernels, compiled for the host with the emulator in
 * src/test/emu: everything of the CUDA backend except JCuda and the GPU. Copies are synchronous.
 */
final class EmuBackend extends KernelHost implements Backend {
    /** An emulated device pointer (a host address). */
    record Ptr(long address) {
    }

    private final CudaOps ops = new CudaOps(this);
    private final long status = EmuNative.alloc(256);
    private long arena;
    private long arenaBytes;
    private final List<Long> hostBuffers = new ArrayList<>();
    long launches;

    EmuBackend() {
        EmuNative.memset(status, (byte) 0, 256);
    }

    /**
     * Builds (if sources changed) and loads the emulator library with g++; returns null when it is loaded, else why
     * it cannot be (no g++ here).
     */
    static synchronized String load(Path moduleDir) throws IOException, InterruptedException {
        if (loaded) return null;
        Path src = moduleDir.resolve("src/main/cuda"), emu = moduleDir.resolve("src/test/emu");
        Path out = moduleDir.resolve("target/emu");
        Files.createDirectories(out);
        Path lib = out.resolve("libmemplan_emu.so"), inc = out.resolve("kernels.inc");
        StringBuilder k = new StringBuilder();
        for (Kernels.Spec s : Kernels.all()) k.append(serial(src, s) ? "KS(" : "K(").append(s.name()).append(")\n");
        if (!Files.exists(inc) || !Files.readString(inc).contentEquals(k)) Files.writeString(inc, k);
        long newest = Files.getLastModifiedTime(inc).toMillis();
        for (Path dir : List.of(src, emu))
            try (var files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) newest = Math.max(newest,
                        Files.getLastModifiedTime(f).toMillis());
            }
        if (!Files.exists(lib) || Files.getLastModifiedTime(lib).toMillis() < newest) {
            String javaHome = System.getProperty("java.home");
            List<String> cmd = List.of("g++", "-std=c++20", "-O1", "-U_FORTIFY_SOURCE", "-shared", "-fPIC", "-pthread",
                    "-w",
                    "-I" + emu, "-I" + src, "-I" + out, "-I" + javaHome + "/include",
                            "-I" + javaHome + "/include/linux",
                    "-DKERNELS_INC=\"kernels.inc\"", emu.resolve("emu_jni.cpp").toString(), "-o", lib.toString());
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            } catch (IOException e) {
                return "no g++ to build the kernel emulator: " + e.getMessage();
            }
            String log = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0)
                throw new IllegalStateException("building the kernel emulator failed:\n" + log);
        }
        System.load(lib.toAbsolutePath().toString());
        loaded = true;
        return null;
    }

    private static boolean loaded;

    /** Whether a kernel's body (up to the next kernel) uses no barrier or warp exchange, so it may run serially. */
    static boolean serial(Path src, Kernels.Spec k) throws IOException {
        String text = Files.readString(src.resolve(k.module() + ".cu"));
        int at = text.indexOf(" " + k.name() + "(");
        if (at < 0) return false;   // e.g. made by a macro
        int end = text.indexOf("extern \"C\"", at);
        String body = text.substring(at, end < 0 ? text.length() : end);
        for (String t : List.of("__syncthreads", "block_", "warp_", "__shfl", "__ballot", "DYN_SMEM", "__shared__"))
            if (body.contains(t)) return false;
        return true;
    }

    // ---------------------------------------------------------------- KernelHost

    @Override
    Ptr dev(long offset) {
        if (offset < 0) return new Ptr(0);
        if (offset > arenaBytes) throw new BackendException("offset " + offset + " outside the arena of " + arenaBytes);
        return new Ptr(arena + offset);
    }

    @Override
    Ptr statusPtr() {
        return new Ptr(status);
    }

    @Override
    void launch(Kernels.Spec k, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, Object... args) {
        checkArgs(k, args, a -> a instanceof Ptr);
        if (bx * by * bz > 1024) throw new IllegalArgumentException(k + ": more than 1024 threads per block");
        if (gy > 65535 || gz > 65535) throw new IllegalArgumentException(k + ": grid y/z over 65535");
        if (sharedBytes > 48 * 1024) throw new IllegalArgumentException(k + ": over 48 KiB of dynamic shared memory");
        long[] bits = new long[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            bits[i] = switch (k.signature().charAt(i)) {
                case 'p' -> ((Ptr) a).address();
                case 'l' -> (Long) a;
                case 'i' -> (Integer) a & 0xffffffffL;
                case 'd' -> Double.doubleToRawLongBits((Double) a);
                default -> Float.floatToRawIntBits((Float) a) & 0xffffffffL;
            };
        }
        if (gx <= 0 || gy <= 0 || gz <= 0) return;
        launches++;
        long t0 = System.nanoTime();
        String err = EmuNative.launch(k.name(), gx, gy, gz, bx, by, bz, sharedBytes, bits);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (ms > 300 && Boolean.getBoolean("memplan.emu.verbose"))
            System.err.printf("emulated %s grid %dx%dx%d block %dx%dx%d: %d ms%n", k, gx, gy, gz, bx, by, bz, ms);
        if (err != null) throw new BackendException(err);
    }

    @Override
    void memsetBytes(long offset, byte value, long bytes) {
        if (bytes <= 0) return;
        check(offset, bytes);
        EmuNative.memset(arena + offset, value, bytes);
    }

    private void check(long offset, long bytes) {
        if (offset < 0 || offset + bytes > arenaBytes)
            throw new BackendException("bytes [" + offset + ", " + (offset + bytes) + ") outside the arena of "
                    + arenaBytes);
    }

    // ---------------------------------------------------------------- Backend

    @Override public String name() { return "cuda-emulated"; }
    @Override public String deviceDescription() { return "CUDA kernels emulated on the host (tests)"; }
    @Override public long capacityBytes() { return 8L << 30; }
    @Override public long arenaBytes() { return arenaBytes; }

    @Override
    public void allocateArena(long bytes) {
        if (arena != 0) EmuNative.free(arena);
        arena = EmuNative.alloc(bytes);
        arenaBytes = bytes;
    }

    @Override
    public HostBuffer allocateHost(long bytes) {
        long a = EmuNative.alloc(bytes);
        hostBuffers.add(a);
        return new EmuHost(a, bytes);
    }

    record EmuHost(long address, long bytes) implements HostBuffer {
    }

    @Override
    public void write(long offset, float[] src, int from, int count) {
        check(offset, 4L * count);
        EmuNative.write(arena + offset, src, from, count);
    }

    @Override
    public void read(long offset, float[] dst, int from, int count) {
        check(offset, 4L * count);
        EmuNative.read(arena + offset, dst, from, count);
    }

    @Override
    public void zero(long offset, long bytes) {
        memsetZero(offset, bytes);
    }

    @Override
    public void forward(Graph graph, Node node, Bindings b, boolean training, boolean recompute, long seed) {
        ops.forward(graph, node, b, training, recompute, seed);
    }

    @Override
    public void backward(Graph graph, Node node, Bindings b) {
        ops.backward(graph, node, b);
    }

    @Override
    public void optimizerStep(Optimizer optimizer, double learningRate, long param, long grad, long[] states,
            long numel, int t) {
        ops.optimizerStep(optimizer, learningRate, param, grad, states, numel, t);
    }

    @Override
    public void encode(Codec codec, long src, long dst, long numel, double density, String tensorName) {
        ops.encode(codec, src, dst, numel, density);
    }

    @Override
    public void decode(Codec codec, long src, long dst, long numel, double density) {
        ops.decode(codec, src, dst, numel, density);
    }

    private static final Event DONE = () -> true;

    @Override
    public Event copyToHost(long deviceOffset, HostBuffer host, long hostOffset, long bytes) {
        check(deviceOffset, bytes);
        EmuNative.copy(((EmuHost) host).address() + hostOffset, arena + deviceOffset, bytes);
        return DONE;
    }

    @Override
    public Event copyToDevice(HostBuffer host, long hostOffset, long deviceOffset, long bytes) {
        check(deviceOffset, bytes);
        EmuNative.copy(arena + deviceOffset, ((EmuHost) host).address() + hostOffset, bytes);
        return DONE;
    }

    @Override public void computeWaits(Event event) { }
    @Override public void hostWaits(Event event) { }

    /** Reads the SPARSE overflow flag the kernels set (1 = overflow), and clears it. */
    int takeStatus() {
        float[] f = new float[1];
        EmuNative.read(status, f, 0, 1);
        EmuNative.memset(status, (byte) 0, 4);
        return Float.floatToRawIntBits(f[0]);
    }

    @Override public void synchronize() { }
    @Override public long drainComputeNanos() { return 0; }
    @Override public long deviceMemoryUsed() { return arenaBytes; }

    @Override
    public void close() {
        if (arena != 0) EmuNative.free(arena);
        arena = 0;
        for (long h : hostBuffers) EmuNative.free(h);
        hostBuffers.clear();
    }
}

package memplan.calibration;

import memplan.backend.cpu.CpuBackend;
import memplan.backend.cpu.WinogradConv;
import memplan.exec.Executor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;

/**
 * What a calibration was measured on; a cached one is reused only on the same CPU model, core count, kernel thread
 * count, JVM, MemPlan version and build of the CPU kernels (new kernels or a new JIT change the figures).
 *
 * @param kernels a digest of the CPU backend's and the executor's class files, so a build with other kernels (same
 *                version number) measures again
 */
public record MachineKey(String cpuModel, int cores, int threads, String jvm, String memplanVersion,
                         String kernels) {

    /** The classes whose code the probes time. */
    private static final List<Class<?>> KERNEL_CLASSES = List.of(CpuBackend.class, Executor.class);
    // the kernels the probes run (products go through OpenBlasGemm where its natives load; K holds the scratch)
    private static final List<String> KERNEL_FILES = List.of("Gemm", "OpenBlasGemm", "GemmKernels", "WinogradConv",
            "Im2col", "Par", "K", "PointwiseKernels", "UnaryKernels", "BinaryKernels", "NormKernels",
            "TransformerKernels", "PoolKernels", "LossKernels", "CpuOptimizers");

    /** This machine and process. */
    public static MachineKey current(String memplanVersion) {
        // kernels run on the caller plus the common pool (backend.cpu.Par)
        return new MachineKey(thisCpuModel(), Runtime.getRuntime().availableProcessors(),
                ForkJoinPool.getCommonPoolParallelism() + 1,
                System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"), memplanVersion,
                // with Winograd's convolutions switched off the same kernels time differently
                kernelDigest() + (WinogradConv.isEnabled() ? "" : " without Winograd"));
    }

    /** SHA-256 (first 16 hex digits) over the kernels' class files as the class loader finds them. */
    static String kernelDigest() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            List<String> names = new ArrayList<>();
            for (Class<?> c : KERNEL_CLASSES) names.add(c.getName());
            for (String f : KERNEL_FILES) names.add(CpuBackend.class.getPackageName() + "." + f);
            for (String n : names) {
                try (InputStream in = CpuBackend.class.getClassLoader()
                        .getResourceAsStream(n.replace('.', '/') + ".class")) {
                    md.update(n.getBytes(StandardCharsets.UTF_8));
                    if (in != null) md.update(in.readAllBytes());
                }
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException | IOException e) {
            return "unknown";
        }
    }

    /** The CPU's marketing name where the OS tells it (Linux /proc/cpuinfo, Windows' variable), else the arch. */
    static String thisCpuModel() {
        String arch = System.getProperty("os.arch");
        Path info = Path.of("/proc/cpuinfo");
        if (Files.isReadable(info)) {
            try {
                List<String> lines = Files.readAllLines(info);
                for (String l : lines) {
                    String k = l.toLowerCase(Locale.ROOT);
                    if (k.startsWith("model name") || k.startsWith("hardware") || k.startsWith("cpu model")) {
                        int c = l.indexOf(':');
                        if (c > 0 && !l.substring(c + 1).isBlank()) return l.substring(c + 1).trim() + " (" + arch
                                + ")";
                    }
                }
            } catch (IOException | RuntimeException e) {
                // fall through to the generic name
            }
        }
        String win = System.getenv("PROCESSOR_IDENTIFIER");
        if (win != null && !win.isBlank()) return win.trim() + " (" + arch + ")";
        return System.getProperty("os.name") + " " + arch;
    }

    /** The first field that differs from {@code other}, worded for a note, or null when they are the same. */
    public String difference(MachineKey other) {
        if (!cpuModel.equals(other.cpuModel)) return "CPU " + other.cpuModel + " -> " + cpuModel;
        if (cores != other.cores) return "cores " + other.cores + " -> " + cores;
        if (threads != other.threads) return "threads " + other.threads + " -> " + threads;
        if (!jvm.equals(other.jvm)) return "JVM " + other.jvm + " -> " + jvm;
        if (!memplanVersion.equals(other.memplanVersion))
            return "MemPlan " + other.memplanVersion + " -> " + memplanVersion;
        if (!kernels.equals(other.kernels)) return "CPU kernels " + other.kernels + " -> " + kernels;
        return null;
    }
}

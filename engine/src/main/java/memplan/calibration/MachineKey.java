package memplan.calibration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;

/**
 * What a calibration was measured on; a cached one is reused only on the same CPU model, core count, kernel thread
 * count, JVM and MemPlan version (new kernels or a new JIT change the figures).
 */
public record MachineKey(String cpuModel, int cores, int threads, String jvm, String memplanVersion) {

    /** This machine and process. */
    public static MachineKey current(String memplanVersion) {
        // kernels run on the caller plus the common pool (backend.cpu.Par)
        return new MachineKey(thisCpuModel(), Runtime.getRuntime().availableProcessors(),
                ForkJoinPool.getCommonPoolParallelism() + 1,
                System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"), memplanVersion);
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
        return null;
    }
}

package memplan.cuda;

import jcuda.CudaException;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;
import memplan.backend.Availability;
import memplan.backend.Backend;
import memplan.backend.BackendException;
import memplan.backend.BackendProvider;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The "cuda" backend: JCuda's driver API with MemPlan's own PTX kernels. The native libraries load lazily, inside
 * {@link #availability()}, once per JVM: on a machine without an NVIDIA driver the first use of JCudaDriver throws
 * UnsatisfiedLinkError (libcuda.so.1 missing), later uses NoClassDefFoundError. So the probe catches any Throwable
 * once, remembers the reason and never retries.
 */
public final class CudaBackendProvider implements BackendProvider {
    /** Oldest driver the PTX loads on: PTX ISA 8.0 is CUDA 12.0 (see docs/cuda-backend.md). */
    static final int MIN_DRIVER_VERSION = 12000;
    /** The PTX targets compute_75. */
    static final int MIN_COMPUTE_CAPABILITY = 75;

    private static final Object LOCK = new Object();
    private static Availability cached;

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Availability availability() {
        synchronized (LOCK) {
            if (cached == null) cached = probe();
            return cached;
        }
    }

    @Override
    public Backend open(long deviceBytes) {
        Availability a = availability();
        if (!a.available()) throw new BackendException("CUDA backend not available: " + a.reason());
        try {
            return new CudaBackend(deviceBytes);
        } catch (BackendException e) {
            throw e;
        } catch (Throwable t) {
            throw new BackendException("CUDA backend failed to open: " + describe(t), t);
        }
    }

    private static Availability probe() {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] version = new int[1];
            JCudaDriver.cuDriverGetVersion(version);
            if (version[0] < MIN_DRIVER_VERSION)
                return Availability.no("the NVIDIA driver supports CUDA " + cudaVersion(version[0])
                        + ", but the CUDA backend's PTX (ISA 8.0) needs a driver for CUDA 12.0 or newer (r525+)");
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] == 0) return Availability.no("the NVIDIA driver (CUDA " + cudaVersion(version[0])
                    + ") sees no GPU");
            CUdevice dev = new CUdevice();
            JCudaDriver.cuDeviceGet(dev, 0);
            int cc = computeCapability(dev);
            String name = deviceName(dev);
            if (cc < MIN_COMPUTE_CAPABILITY)
                return Availability.no(name + " has compute capability " + cc / 10 + "." + cc % 10
                        + "; the CUDA backend's kernels need 7.5 (Turing) or newer");
            return Availability.yes(name + ", compute capability " + cc / 10 + "." + cc % 10 + ", driver CUDA "
                    + cudaVersion(version[0]) + (count[0] > 1 ? " (" + count[0] + " GPUs, using GPU 0)" : ""));
        } catch (Throwable t) {
            return Availability.no(describe(t));
        }
    }

    static String describe(Throwable t) {
        if (t instanceof UnsatisfiedLinkError || t instanceof NoClassDefFoundError
                || t instanceof ExceptionInInitializerError) {
            // JCuda's message nests the loader's attempts; the useful line names the missing shared object.
            Matcher m = Pattern.compile("(lib[\\w.+-]+\\.so[.\\d]*): cannot open shared object file[^\\n]*")
                    .matcher(String.valueOf(t.getMessage()));
            if (m.find())
                return "no NVIDIA driver: " + m.group().trim() + " (JCuda needs the CUDA driver library libcuda.so.1)";
            return "no NVIDIA driver: the CUDA driver library (libcuda.so.1) or JCuda's native library could not be "
                    + "loaded ("
                    + firstLine(t) + ")";
        }
        if (t instanceof CudaException)
            return "the CUDA driver reported " + firstLine(t)
                    + (String.valueOf(t.getMessage()).contains("NO_DEVICE") ? " (no GPU visible to the driver)" : "");
        return t.getClass().getSimpleName() + ": " + firstLine(t);
    }

    private static String firstLine(Throwable t) {
        Throwable root = t;
        String msg = t.getMessage();
        while ((msg == null || msg.isBlank()) && root.getCause() != null) {
            root = root.getCause();
            msg = root.getMessage();
        }
        if (msg == null) return t.getClass().getSimpleName();
        int nl = msg.indexOf('\n');
        return (nl >= 0 ? msg.substring(0, nl) : msg).trim();
    }

    static String cudaVersion(int v) {
        return v / 1000 + "." + (v % 1000) / 10;
    }

    static int computeCapability(CUdevice dev) {
        int[] major = new int[1], minor = new int[1];
        JCudaDriver.cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
        JCudaDriver.cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
        return major[0] * 10 + minor[0];
    }

    static String deviceName(CUdevice dev) {
        byte[] buf = new byte[256];
        JCudaDriver.cuDeviceGetName(buf, buf.length, dev);
        int n = 0;
        while (n < buf.length && buf[n] != 0) n++;
        return new String(buf, 0, n, StandardCharsets.US_ASCII);
    }
}

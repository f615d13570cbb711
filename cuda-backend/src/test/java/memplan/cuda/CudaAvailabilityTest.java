package memplan.cuda;

import memplan.backend.Availability;
import memplan.backend.Backend;
import memplan.backend.BackendException;
import memplan.backend.BackendProvider;
import memplan.backend.Backends;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class CudaAvailabilityTest {
    private static boolean nvidiaDriverPresent() {
        return Files.exists(Path.of("/proc/driver/nvidia")) || Files.exists(Path.of("/dev/nvidiactl"));
    }

    @Test
    void providerIsRegisteredAsCuda() {
        BackendProvider p = Backends.named("cuda");
        assertInstanceOf(CudaBackendProvider.class, p);
        assertEquals("cuda", p.name());
    }

    @Test
    void withoutADriverItIsNotAvailableAndSaysWhy() {
        assumeFalse(nvidiaDriverPresent(), "an NVIDIA driver is present on this machine");
        CudaBackendProvider p = new CudaBackendProvider();
        Availability a = p.availability();
        assertFalse(a.available());
        assertNotNull(a.reason());
        String r = a.reason().toLowerCase();
        assertTrue(r.contains("driver") || r.contains("libcuda") || r.contains("library"), a.reason());
        // probed once: the same answer again (JCuda would now throw NoClassDefFoundError), and the JVM is fine
        assertSame(a, p.availability());
        assertSame(a, new CudaBackendProvider().availability());
        BackendException e = assertThrows(BackendException.class, () -> p.open(1L << 20));
        assertTrue(e.getMessage().contains(a.reason()), e.getMessage());
        assertTrue(e.getMessage().startsWith("CUDA backend not available: "), e.getMessage());
    }

    @Test
    void withAGpuItOpensAndReportsTheDevice() {
        CudaBackendProvider p = new CudaBackendProvider();
        assumeTrue(p.availability().available(), () -> "no GPU: " + p.availability().reason());
        try (Backend b = p.open(1L << 30)) {
            assertEquals("cuda", b.name());
            assertTrue(b.capacityBytes() > 0 && b.capacityBytes() <= 1L << 30);
            assertFalse(b.deviceDescription().isBlank());
            b.allocateArena(1 << 20);
            assertTrue(b.deviceMemoryUsed() >= 1 << 20);
        }
    }
}

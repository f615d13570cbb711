package memplan.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA backend's kernels (src/main/cuda, unchanged) and launches (CudaOps) without a GPU: the kernels are built
 * for the host with a small CUDA emulator (src/test/emu, g++) and OpCheck compares every op, the optimizers and the
 * codecs with the CPU reference kernels, as it does on a GPU. Skipped where there is no g++.
 */
class CudaEmulatedOpsTest {
    private static String unavailable;

    @BeforeAll
    static void build() throws Exception {
        unavailable = EmuBackend.load(Path.of("").toAbsolutePath());
    }

    @Test
    void everyOpMatchesTheCpuKernelsOnTheEmulatedKernels() throws Exception {
        assumeTrue(Boolean.parseBoolean(System.getProperty("memplan.emu", "true")), "memplan.emu=false");
        assumeTrue(unavailable == null, () -> unavailable);
        try (EmuBackend b = new EmuBackend()) {
            // every row (max abs / rel error per op and phase) goes to target/opcheck-emulated.json; the console shows
            // failures only unless -Dmemplan.opcheck.all=true
            assertEquals(0, OpCheck.run(b, null, "target/opcheck-emulated.json", System.out,
                    Boolean.getBoolean("memplan.opcheck.all")));
        }
    }
}

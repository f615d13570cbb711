package memplan.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * OpCheck is the GPU proof; here it runs against the CPU backend (which must agree with the CPU kernels exactly),
 * so its layouts, bindings and comparisons are known to work before any GPU time is spent.
 */
class CudaOpCheckHarnessTest {
    @Test
    void opCheckPassesAgainstTheCpuBackend() throws Exception {
        try (memplan.backend.Backend b = new memplan.backend.cpu.CpuBackendProvider().open(1L << 30)) {
            assertEquals(0, OpCheck.run(b, null, null, System.out, false));
        }
    }
}

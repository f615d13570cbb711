package memplan.backend.cpu;

import memplan.backend.Availability;
import memplan.backend.Backend;
import memplan.backend.BackendProvider;

/** The CPU reference backend is always available. */
public final class CpuBackendProvider implements BackendProvider {
    @Override public String name() { return "cpu"; }

    @Override
    public Availability availability() {
        return Availability.yes("CPU reference, " + Par.parallelism() + " threads, GEMM: " + Gemm.implementation());
    }

    @Override
    public Backend open(long deviceBytes) {
        return new CpuBackend(deviceBytes);
    }
}

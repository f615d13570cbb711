package memplan.backend;

import memplan.ir.Remedy;

/**
 * The device could not hold what a run asked for. The message says which step, how much was asked and what was
 * live, so the user can pick a smaller batch or a tighter plan; the backend stays usable for the next run.
 */
public class DeviceOutOfMemoryException extends BackendException {
    private final long requestedBytes;
    private final long capacityBytes;

    public DeviceOutOfMemoryException(String message, long requestedBytes, long capacityBytes) {
        super(message);
        this.requestedBytes = requestedBytes;
        this.capacityBytes = capacityBytes;
    }

    public long requestedBytes() {
        return requestedBytes;
    }

    public long capacityBytes() {
        return capacityBytes;
    }

    @Override
    public Remedy remedy() {
        return Remedy.DEVICE_MEMORY;
    }
}

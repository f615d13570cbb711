package memplan.lower;

/** What one instruction of a lowered schedule does, and on which stream. */
public enum InstrKind {
    /** Runs a schedule step (forward, backward or optimizer) on the compute stream. */
    COMPUTE(false),
    /** Re-runs a node's forward pass to rebuild freed activations. */
    RECOMPUTE(false),
    /** Encodes a tensor into a smaller buffer (compute stream). */
    ENCODE(false),
    /** Decodes it back before backward needs it. */
    DECODE(false),
    /** Copies a device buffer to host memory (copy stream). */
    SWAP_OUT(true),
    /** Waits for a swap-out to finish and releases the device buffer. */
    RELEASE(false),
    /** Copies a swapped tensor back into a new device buffer (copy stream). */
    SWAP_IN(true);

    public final boolean copyStream;

    InstrKind(boolean copyStream) {
        this.copyStream = copyStream;
    }
}

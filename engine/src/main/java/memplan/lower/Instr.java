package memplan.lower;

/**
 * One instruction of a lowered schedule. {@code tensors[k]} lives in {@code buffers[k]} while this instruction runs.
 * For SWAP_OUT/RELEASE the single binding is the device buffer; for SWAP_IN, ENCODE and DECODE the first binding is
 * the buffer written and the second the one read (for SWAP_IN: the released buffer whose host copy is restored;
 * it is no longer on the device).
 * {@code waits} are positions of copy-stream instructions that must finish before this one starts.
 */
public record Instr(int pos, InstrKind kind, int step, int node, int tensor, int[] tensors, int[] buffers, int[] waits,
                    long flops, long bytes) {

    /** Buffer of a tensor in this instruction's bindings, or -1. */
    public int bufferOf(int tensor) {
        for (int k = 0; k < tensors.length; k++) if (tensors[k] == tensor) return buffers[k];
        return -1;
    }
}

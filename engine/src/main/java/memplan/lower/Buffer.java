package memplan.lower;

import memplan.backend.Codec;
import memplan.ir.TensorRole;

/**
 * A region of device memory in a lowered schedule. It is occupied during its segments (inclusive instruction
 * positions, sorted, disjoint); tensors that share memory (in place, co-shared) occupy one buffer in several
 * segments. An encoded buffer holds a compressed copy of {@code tensor}. {@code offset} is set by the allocator.
 */
public record Buffer(int id, int tensor, long bytes, TensorRole role, Codec codec, int[] segStart,
        int[] segEnd, long offset) {

    public int start() {
        return segStart[0];
    }

    public int end() {
        return segEnd[segEnd.length - 1];
    }

    public boolean liveAt(int pos) {
        for (int i = 0; i < segStart.length; i++) if (segStart[i] <= pos && pos <= segEnd[i]) return true;
        return false;
    }

    public Buffer withOffset(long off) {
        return new Buffer(id, tensor, bytes, role, codec, segStart, segEnd, off);
    }
}

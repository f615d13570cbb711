package memplan.plan;

import memplan.backend.Codec;

import java.util.List;

/**
 * What a plan does with one tensor. A closed set, so every switch over it (lowering, validation, JSON, UI) is
 * checked by the compiler. Step numbers are schedule step indices; -1 means "let the lowering choose".
 */
public sealed interface Decision permits Decision.Keep, Decision.Swap, Decision.Recompute,
        Decision.Share, Decision.Compress {

    /** Short name used in plan files and the UI. */
    String kind();

    /** Keep the tensor on the device from its first write to its last use (the baseline). */
    record Keep() implements Decision {
        @Override public String kind() { return "keep"; }
    }

    /**
     * Copy the tensor to host memory after step {@code outAfter} and back before step {@code inBefore}, on the copy
     * stream. The device copy is released once the swap-out has finished; the swap-in is issued after step
     * {@code prefetchAfter} so it can overlap compute. -1 for any of them: the lowering chooses (out after the last
     * forward use, in before the first backward use, prefetch early enough to hide the transfer).
     */
    record Swap(int outAfter, int inBefore, int prefetchAfter) implements Decision {
        public static Swap auto() { return new Swap(-1, -1, -1); }
        @Override public String kind() { return "swap"; }
    }

    /**
     * Rebuild the tensor by re-running its producing op. With no steps ({@link #RECOMPUTE}): free it after its last
     * forward use and re-run the producer (and any recomputed inputs) once, before the first step that reads it
     * again; the rebuilt copy stays until its last use. With steps ({@code at}, ascending, as a solver plans it):
     * the producer is re-run before each of those steps, each rebuilt copy replaces the one before, and every copy,
     * the forward one included, is freed after the last instruction that reads it before the next rebuild, so a
     * tensor can be rebuilt, freed and rebuilt again.
     */
    record Recompute(List<Integer> at) implements Decision {
        public Recompute {
            at = List.copyOf(at);
        }

        /** Whether the rebuild steps are given (a solver's plan) rather than chosen by the lowering. */
        public boolean explicit() {
            return !at.isEmpty();
        }

        @Override public String kind() { return "recompute"; }
    }

    /**
     * Place the tensor in the buffer of tensor {@code with}: a tensor whose lifetime has ended before this one starts
     * (co-sharing), or the input this op overwrites (in place: the input's last use is this tensor's producing step).
     */
    record Share(int with) implements Decision {
        @Override public String kind() { return "share"; }
    }

    /**
     * Keep an encoded copy between the last forward use and the first backward use, decoding it before backward.
     * {@code density} is the planned share of non-zeros for the sparse codec (ignored by others). With
     * {@code swap} the encoded copy is also swapped to host memory in between.
     */
    record Compress(Codec codec, double density, boolean swap) implements Decision {
        @Override public String kind() { return "compress"; }
    }

    Keep KEEP = new Keep();
    Recompute RECOMPUTE = new Recompute(List.of());
}

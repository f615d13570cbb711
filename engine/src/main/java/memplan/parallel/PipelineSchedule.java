package memplan.parallel;

import java.util.Locale;

/** How pipeline stages interleave micro-batches, which decides how many activation stashes a stage holds. */
public enum PipelineSchedule {
    /** GPipe: all micro-batches forward, then all backward; every stage stashes all of them. */
    GPIPE("gpipe"),
    /** 1F1B (PipeDream-Flush, Megatron): stage k of p holds at most p - k micro-batches' activations. */
    ONE_F_ONE_B("1f1b");

    public final String label;

    PipelineSchedule(String label) {
        this.label = label;
    }

    /** Micro-batches whose activations stage {@code stage} (0-based) of {@code stages} holds at once. */
    public int inFlight(int stage, int stages, int microBatches) {
        return this == GPIPE ? microBatches : Math.min(microBatches, stages - stage);
    }

    public static PipelineSchedule parse(String s) {
        for (PipelineSchedule p : values()) if (p.label.equals(s.toLowerCase(Locale.ROOT))) return p;
        throw new IllegalArgumentException("unknown pipeline schedule '" + s + "' (known: gpipe, 1f1b)");
    }
}

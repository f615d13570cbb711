package memplan.sim;

/** Kinds of timeline events, for predicted and measured timelines alike. */
public enum EventKind {
    COMPUTE, ALLOC, FREE, SWAP_OUT, SWAP_IN, RECOMPUTE, ENCODE, DECODE, STALL
}

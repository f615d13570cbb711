package memplan.ops;

/** Attention over a sequence. */
public sealed interface AttentionOp extends Op permits Attention {
}

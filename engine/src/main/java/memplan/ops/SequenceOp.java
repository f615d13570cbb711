package memplan.ops;

/** Token lookups, positions and recurrent cells. */
public sealed interface SequenceOp extends Op permits Embedding, LSTMCell, RotaryEmbedding {
}

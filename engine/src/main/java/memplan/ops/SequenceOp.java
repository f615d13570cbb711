package memplan.ops;

/** Token lookups and recurrent cells. */
public sealed interface SequenceOp extends Op permits Embedding, LSTMCell {
}

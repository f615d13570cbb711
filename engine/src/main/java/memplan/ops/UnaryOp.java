package memplan.ops;

/** One input, one output of the same or a broadcast shape, computed element by element. */
public sealed interface UnaryOp extends Op permits Elementwise, ConstElementwise {
}

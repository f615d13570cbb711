package memplan.ops;

/** Where data enters the graph. */
public sealed interface SourceOp extends Op permits Input {
}

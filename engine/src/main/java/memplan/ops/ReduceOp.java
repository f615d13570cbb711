package memplan.ops;

/** Reductions over some axes. */
public sealed interface ReduceOp extends Op permits ReduceMean {
}

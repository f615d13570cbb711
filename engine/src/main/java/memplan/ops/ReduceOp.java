package memplan.ops;

/** Reductions over some axes, and scans and selections along one (CumSum, TopK). */
public sealed interface ReduceOp extends Op permits ReduceMean, CumSum, TopK {
}

package memplan.ops;

/** Losses: the end of the forward pass, where backward starts. */
public sealed interface LossOp extends Op permits CrossEntropy, MseLoss {
}

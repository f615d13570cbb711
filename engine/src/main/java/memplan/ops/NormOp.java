package memplan.ops;

/** Normalisations over a batch, a feature axis or a row (Softmax). */
public sealed interface NormOp extends Op permits BatchNorm2d, LayerNorm, RMSNorm, Softmax, GroupNorm {
}

package memplan.ops;

/** Spatial pooling windows. */
public sealed interface PoolOp extends Op permits MaxPool2d, AvgPool2d, GlobalAvgPool, MaxPool3d, AvgPool3d {
}

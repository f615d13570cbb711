package memplan.ops;

/** Matrix products: dense layers, batched matrix multiplication and convolutions. */
public sealed interface GemmOp extends Op permits Linear, MatMul, Conv2d, ConvTranspose2d, Conv3d,
        ConvTranspose3d {
}

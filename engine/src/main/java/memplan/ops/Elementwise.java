package memplan.ops;

import memplan.ir.Shape;

import java.util.List;

/** Shared rules of one-input elementwise ops: output shape = input shape, cost proportional to size. */
sealed interface Elementwise extends UnaryOp
        permits ReLU, GELU, Sigmoid, Tanh, LeakyReLU, HardSigmoid, HardSwish, Sqrt, Clip, Cast, Dropout, Mish, SiLU {
    /** Floating-point operations per element. */
    default int flopsPerElement() {
        return 1;
    }

    @Override default int arity() { return 1; }
    @Override default List<Shape> inferShapes(List<Shape> in) { return List.of(in.get(0)); }
    @Override default long flops(List<Shape> in, List<Shape> out) { return flopsPerElement() * in.get(0).numel(); }
}

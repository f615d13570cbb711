package memplan.graph;

import memplan.ir.Layer;
import memplan.ir.Shape;
import memplan.ops.Op;

import java.util.List;

/**
 * A layer of the forward graph with its values resolved: input, output, parameter and aux value ids, and the
 * input and output shapes that kernels and costs use.
 */
public record Node(int index, Layer layer, int[] inputs, int[] outputs, int[] params, int[] aux,
                   List<Shape> inShapes, List<Shape> outShapes) {
    public Op op() {
        return layer.op();
    }

    public String name() {
        return layer.name();
    }

    public long flops() {
        return op().flops(inShapes, outShapes);
    }

    public long backwardFlops() {
        return op().backwardFlops(inShapes, outShapes);
    }
}

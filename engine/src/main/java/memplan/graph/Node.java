package memplan.graph;

import memplan.model.Layer;
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

    /**
     * Whether output 0 may be written over input 0: the op allows it and the output has input 0's shape (a
     * broadcasting Add whose output is larger than input 0 does not fit in it).
     */
    public boolean mayRunInPlace() {
        return op().mayRunInPlace() && inputs.length > 0 && inShapes.get(0).equals(outShapes.get(0));
    }

    public long flops() {
        return op().flops(inShapes, outShapes);
    }

    public long backwardFlops() {
        return op().backwardFlops(inShapes, outShapes);
    }
}

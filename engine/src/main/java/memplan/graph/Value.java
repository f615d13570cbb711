package memplan.graph;

import memplan.ir.DType;
import memplan.ir.Shape;

/**
 * A tensor of the forward graph at a fixed batch size. {@code producer} is the node that writes it (-1 for data
 * and parameters). A view (Reshape, Flatten output) has {@code viewOf} = the value whose memory it shares, else -1.
 */
public record Value(int id, String name, Shape shape, DType dtype, ValueKind kind, int producer, int viewOf) {
    public long bytes() {
        return shape.numel() * dtype.bytes;
    }
}

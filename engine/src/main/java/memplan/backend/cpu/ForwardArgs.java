package memplan.backend.cpu;

import memplan.graph.Node;

/**
 * Tensors of one forward call, in the node's order of inputs, outputs, params (weights and buffers) and aux.
 * {@code workspace} may be null (the kernel then allocates what it needs). {@code recompute} = the forward is run
 * again to rebuild a freed activation: outputs are bit-identical and no state (BatchNorm running statistics)
 * changes. {@code seed} drives Dropout's counter-based mask (hash of seed, node index, element index).
 */
public record ForwardArgs(Node node, Buf[] in, Buf[] out, Buf[] params, Buf[] aux, Buf workspace,
                          boolean training, boolean recompute, long seed) {
}

package memplan.graph;

/** What a forward-graph value is. */
public enum ValueKind {
    /** A data input (images, token ids, labels). */
    DATA,
    /** A trainable parameter. */
    PARAM,
    /** A non-trainable parameter such as BatchNorm's running mean. */
    BUFFER,
    /** An op's output. */
    ACTIVATION,
    /** An extra tensor an op keeps for its backward pass (indices, masks, statistics). */
    AUX
}

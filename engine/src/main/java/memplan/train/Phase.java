package memplan.train;

/** Which part of a training iteration a step belongs to. */
public enum Phase {
    FORWARD, BACKWARD, OPTIMIZER
}

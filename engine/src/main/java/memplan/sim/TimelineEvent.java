package memplan.sim;

/**
 * One event of an iteration: when it ran, on which stream, at which instruction position, for which schedule step
 * and tensor (-1 where none), how many bytes it concerns, and a label for people.
 */
public record TimelineEvent(double startSeconds, double endSeconds, EventKind kind,
        boolean copyStream, int pos, int step,
                            int tensor, long bytes, String label) {
}
